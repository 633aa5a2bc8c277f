//! Model mode: an agent answers a prompt with a configured provider. Its persona
//! is the system prompt; the context bundle of the file and position (redacted
//! unless the provider is on this machine) and the agent's own offline findings
//! ground it; it may call catalog tools, each checked against the agent's
//! granted permissions before it runs. Output streams to clients as it arrives.

use std::sync::Arc;

use agents::grants::Reach;
use agents::skills::Scope;
use protocol::{
    agents::{RunParams, RunStatus},
    client::Event,
    context::BuildParams,
};

use super::{
    env::{Env, Failed, RunContext},
    offline::{self, Produced},
    preview::Previews,
    tools,
};
use crate::{
    platform::uri,
    services::{
        codebase,
        provider::{ChatModel, ChatRequest, Message, Streamed},
        roster::Agent,
    },
};

/// Tool rounds per run: a model that keeps calling tools is stopped here.
const MAX_ROUNDS: usize = 6;

/// Tokens of text, estimated the way the context budget does (4 bytes a token).
fn estimate_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

/// Model mode, grounded in the agent's own offline skill on the file when it has one.
pub(super) async fn ask(env: &Env, run: &RunContext, agent: &Agent, params: &RunParams) -> Result<Produced, Failed> {
    let name = env.provider_name(agent).ok_or("no provider is configured".to_owned())?;
    let provider = env.providers.get(&env.config, &name)?;
    let file_skill = agent.skills.iter().copied().find(|s| s.scope() == Scope::File);
    let (mut findings, mut grounding) = (Vec::new(), None);
    if let (Some(skill), Some(_)) = (file_skill, &params.uri) {
        let reach = Reach::of(&agent.manifest);
        let (report, found, _) =
            Box::pin(offline::produce(env, agent, skill, params, (&reach, offline::Examples::Never))).await?;
        let listed: Vec<String> =
            found.iter().map(|f| format!("- line {}: [{}] {}", f.line, f.rule, f.message)).collect();
        grounding = Some(format!("{report}\n{}", listed.join("\n")));
        findings = found;
    }
    let output = converse(env, run, agent, provider, params, grounding).await?;
    findings.extend(output.findings);
    Ok((output.text, findings, output.edits))
}

/// The user's message: the context bundle of the file (within the agent's
/// reach, but for the file itself), the offline grounding and the request,
/// redacted unless the model is local.
fn first_message(
    env: &Env,
    agent: &Agent,
    params: &RunParams,
    grounding: Option<String>,
    local: bool,
) -> Result<String, Failed> {
    let policy = &policy_of(env, params);
    let mut user = String::new();
    if let Some(uri) = &params.uri {
        let bundle = codebase::build(
            &env.codebase,
            BuildParams {
                uri: uri.clone(),
                position: params.position,
                range: params.range,
                question: None,
                diagnostics: Vec::new(),
                budget_tokens: None,
                local_provider: local,
            },
        )
        .map_err(|err| err.to_string())?;
        // Named as the bundle names it: relative to its workspace, else absolute.
        let own = uri::to_path(uri)
            .and_then(|p| env.codebase.workspaces.resolve(&p, None).ok())
            .map(|r| r.rel().unwrap_or_else(|| r.path.display().to_string()));
        let provider = env.provider_name(agent).unwrap_or_default();
        let send = |path: &str| crate::services::team::policy::send_action(&env.config, &provider, path, local);
        if let Some(own) = &own {
            policy.check(&send(own), &format!("sending {own} to a model")).map_err(Failed::from)?;
        }
        let bundle = tools::within_reach(bundle, &Reach::of(&agent.manifest), own.as_deref());
        let bundle = tools::within_policy(bundle, policy, send);
        user.push_str("# Context from the editor\n\n");
        user.push_str(&tools::render_bundle(&bundle));
    }
    if let Some(grounding) = grounding {
        user.push_str("\n# Your offline analysis of this file\n\n");
        // Findings quote the code (a TODO's text): redacted like the bundle.
        user.push_str(&if local { grounding } else { context::redact::redact("", &grounding).0 });
    }
    user.push_str("\n# Request\n\n");
    let prompt = params.prompt.clone().unwrap_or_default();
    user.push_str(if local { prompt.clone() } else { context::redact::redact("", &prompt).0 }.as_str());
    Ok(user)
}

/// Tokens a request sends, estimated.
fn request_tokens(request: &ChatRequest) -> u64 {
    estimate_tokens(&request.system)
        + request
            .messages
            .iter()
            .map(|m| {
                estimate_tokens(&m.content) + m.tool_calls.iter().map(|c| estimate_tokens(&c.arguments)).sum::<u64>()
            })
            .sum::<u64>()
}

/// Whether a request of `sent` tokens stays within the workflow's budget and the run's.
fn within_budget(run: &RunContext, params: &RunParams, sent: u64) -> Result<(), String> {
    if let Some(left) = run.board.as_ref().and_then(|s| s.tokens_left()).filter(|left| sent > *left) {
        return Err(format!(
            "the workflow's token budget would be passed: {left} left, the next request needs about {sent}"
        ));
    }
    let used = run.tokens_used();
    if let Some(max) = params.max_tokens.filter(|max| used + sent > *max) {
        return Err(format!(
            "the run's token budget ({max}) would be passed: {used} used, the next request needs about {sent}"
        ));
    }
    Ok(())
}

/// Whether what goes to `provider` may stay unredacted: only for a model the
/// user says runs here, unless the config or any level of policy for the
/// project the run is about says always.
fn unredacted(env: &Env, params: &RunParams, provider: &dyn ChatModel) -> bool {
    provider.is_local() && !env.config.agents.always_redact && !policy_of(env, params).forces_redaction()
}

/// Every level of policy for the project a run is about (its own file too).
fn policy_of(env: &Env, params: &RunParams) -> crate::services::team::policy::Decider {
    let project = env.project_of(params.uri.as_deref(), params.workspace.as_deref());
    env.team.for_project(project.as_deref())
}

/// The model turn loop: requests, streamed output, tool calls, budgets.
/// What a turn streams, passed on as it comes: text as `run_update` output
/// (kept in `streamed`), a `propose_edit` being written as `run_edit` pieces
/// where `writer` may write.
fn on_stream<'a>(
    env: &'a Env,
    (run, agent): (&RunContext, &Agent),
    streamed: &'a mut String,
    previews: &'a mut Previews,
    writer: Option<&'a tools::Tools<'a>>,
) -> impl FnMut(Streamed<'_>) + Send + 'a {
    let (agent_id, id) = (agent.manifest.id.clone(), run.id.clone());
    move |piece: Streamed<'_>| match piece {
        Streamed::Text(text) => {
            streamed.push_str(text);
            env.send_event(Event::RunUpdate {
                run_id: id.clone(),
                agent: agent_id.clone(),
                status: RunStatus::Running,
                message: None,
                output_delta: Some(text.to_owned()),
            });
        }
        Streamed::Call { index, name: "propose_edit", arguments, done } => {
            let Some(writer) = writer else { return };
            let resolve = |so_far: &serde_json::Value| writer.edit_of(so_far).map(|(_, edit)| edit);
            if let Some(piece) = previews.update(index, (arguments, done), resolve) {
                env.send_event(Event::RunEdit {
                    run_id: id.clone(),
                    agent: agent_id.clone(),
                    call: piece.call,
                    uri: piece.uri,
                    range: piece.range,
                    text: piece.text,
                });
            }
        }
        Streamed::Call { .. } => {}
    }
}

async fn converse(
    env: &Env,
    run: &RunContext,
    agent: &Agent,
    provider: Arc<dyn ChatModel>,
    params: &RunParams,
    grounding: Option<String>,
) -> Result<tools::ModelOutput, Failed> {
    let local = unredacted(env, params, provider.as_ref());
    let user = first_message(env, agent, params, grounding, local)?;
    let mut request = ChatRequest {
        system: format!(
            "{}\n\nYou work inside the user's editor through PAIRED. Be specific: cite files and lines. Use the tools when you need more of the workspace.",
            agent.persona()
        ),
        messages: vec![Message::user(user)],
        tools: tools::tool_specs(agent, run),
        max_tokens: None,
    };
    run.asks(provider.name(), provider.model());
    let mut result = tools::ModelOutput::default();
    // Edits are shown as the model writes them, where it may write.
    let editor = agent.manifest.tools.iter().any(|t| t == "propose_edit");
    let writer = editor.then(|| tools::Tools::new(env, agent, params, local).ok()).flatten();
    let mut previews = Previews::default();
    for _ in 0..MAX_ROUNDS {
        let mut streamed = String::new();
        let mut on_text = on_stream(env, (run, agent), &mut streamed, &mut previews, writer.as_ref());
        // The budget is checked before each request: a request that would pass
        // it is never sent.
        let sent = request_tokens(&request);
        let step = run.board.as_ref();
        if let Err(message) = within_budget(run, params, sent) {
            drop(on_text);
            return Err(Failed::with_output(message, result.text));
        }
        let response = provider.chat(&request, &mut on_text).await;
        drop(on_text);
        previews.next_round();
        let spent = sent
            + response.as_ref().map_or(estimate_tokens(&streamed), |r| {
                estimate_tokens(&r.text) + r.tool_calls.iter().map(|c| estimate_tokens(&c.arguments)).sum::<u64>()
            });
        run.spend(spent);
        run.received(spent - sent);
        if let Some(step) = step {
            step.spend(spent);
        }
        let response = match response {
            Ok(response) => response,
            Err(err) => {
                // What streamed before the failure was shown already: it stays on the run.
                result.text.push_str(&streamed);
                return Err(Failed::with_output(format!("provider {}: {err}", provider.name()), result.text));
            }
        };
        result.text.push_str(&response.text);
        if response.tool_calls.is_empty() {
            return Ok(result);
        }
        request.messages.push(Message {
            role: "assistant".into(),
            content: response.text.clone(),
            tool_calls: response.tool_calls.clone(),
            tool_call_id: None,
        });
        let outcomes = tools::call_tools(env, run, agent, &response.tool_calls, local, params, &mut result).await;
        for (call, outcome) in response.tool_calls.iter().zip(outcomes) {
            let content = match outcome {
                Ok(content) => content,
                Err(reason) => {
                    let refusal = format!("refused: {reason}");
                    env.send_event(Event::RunUpdate {
                        run_id: run.id.clone(),
                        agent: agent.manifest.id.clone(),
                        status: RunStatus::Running,
                        message: Some(format!("tool {} {refusal}", call.name)),
                        output_delta: None,
                    });
                    tracing::info!(run = %run.id, tool = %call.name, "tool call refused: {reason}");
                    result.text.push_str(&format!("\n[tool {} {refusal}]\n", call.name));
                    refusal
                }
            };
            request.messages.push(Message {
                role: "tool".into(),
                content,
                tool_calls: Vec::new(),
                tool_call_id: Some(call.id.clone()),
            });
        }
    }
    Err(Failed::with_output(format!("stopped after {MAX_ROUNDS} rounds of tool calls"), result.text))
}
