//! What can be checked before a session starts, and who may take a step.

use agents::skills::Scope;

use crate::services::{
    orchestrator::{
        session::Orchestrator,
        workflow::{Each, Step, Target, Workflow},
    },
    roster::{Agent, Roster},
    runs::Missing,
};

/// Why a workflow cannot start, in the user's terms (never a parameter's
/// name); `missing` when it lacks an input, which each front asks for in its
/// own words (`workflows/run` sends it as the error's data).
#[derive(Debug)]
pub struct Unfit {
    pub message: String,
    pub missing: Option<Missing>,
    /// Nothing the request could add fixes it: the configuration must (a model).
    pub refused: bool,
}

impl Unfit {
    /// The workflow lacks `missing`: `what` says which step needs it and why.
    fn lacks(workflow: &Workflow, missing: Missing, what: String) -> Unfit {
        let message = format!("the {} workflow {}: {what}", workflow.name, missing.words());
        Unfit { message, missing: Some(missing), refused: false }
    }
}

impl From<String> for Unfit {
    fn from(message: String) -> Unfit {
        Unfit { message, missing: None, refused: false }
    }
}

/// Checks what can be checked before anything runs: agents exist, skills fit,
/// inputs are there.
pub fn preflight(
    orch: &Orchestrator,
    workflow: &Workflow,
    params: &protocol::workflows::RunWorkflowParams,
) -> Result<(), Unfit> {
    let roster = orch.runs.roster(orch.project_of(params).as_deref());
    let has_prompt = params.prompt.as_deref().is_some_and(|p| !p.trim().is_empty());
    for step in &workflow.steps {
        if step.each == Some(Each::Subtask)
            && !has_prompt
            && step.prompt.as_deref().is_none_or(|p| p.contains("{prompt}"))
        {
            let what = format!("step `{}` splits it into subtasks", step.id);
            return Err(Unfit::lacks(workflow, Missing::Prompt, what));
        }
        if step.each == Some(Each::UndocumentedSymbol) && params.uri.is_none() && !any_folder(orch, params) {
            let what = format!("step `{}` looks for undocumented definitions in one, or in an open folder", step.id);
            return Err(Unfit::lacks(workflow, Missing::File, what));
        }
        let candidates = candidates(&roster, step);
        let Some(first) = candidates.first() else {
            return Err(Unfit::from(match &step.target {
                Target::Agent(a) => format!("workflow {}: step `{}`: no agent {a:?}", workflow.name, step.id),
                Target::Capability(c) => {
                    format!("workflow {}: step `{}`: no agent offers the capability {c:?}", workflow.name, step.id)
                }
            }));
        };
        // A step that answers in words or not at all needs a model: said
        // before anything runs, never answered by an offline skill instead.
        if step.needs_model
            && !candidates.iter().filter_map(|c| roster.resolve(c)).any(|a| orch.env().provider_name(a).is_some())
        {
            let message = format!(
                "the {} workflow needs a model: step `{}` ({}) answers your request in words, and no model provider is configured for it; define [providers.NAME] in config.toml and set [agents] provider = \"NAME\" (`paired providers test NAME` checks it)",
                workflow.name, step.id, first
            );
            return Err(Unfit { message, missing: None, refused: true });
        }
        let Some(agent) = roster.resolve(first) else { continue };
        let skill = step.skill.as_deref().or_else(|| agent.skills.first().map(|s| s.name()));
        if let Some(skill) = skill.filter(|s| *s != "merge") {
            if !agent.skills.iter().any(|s| s.name() == skill) && skill != "ask" {
                return Err(Unfit::from(format!(
                    "workflow {}: step `{}`: {} has no skill {skill:?} (its skills: {})",
                    workflow.name,
                    step.id,
                    agent.manifest.metadata.name,
                    skill_names(agent)
                )));
            }
            let scope = agents::skills::scope_of(skill);
            let who = format!("step `{}` ({} {skill})", step.id, agent.manifest.metadata.name);
            if scope.needs_file() && params.uri.is_none() && step.each.is_none() {
                return Err(Unfit::lacks(workflow, Missing::File, format!("{who} needs one")));
            }
            let templated = step.prompt.as_deref().is_some_and(|p| p.trim() == "{prompt}");
            if scope == Scope::Prompt && templated && !has_prompt {
                return Err(Unfit::lacks(workflow, Missing::Prompt, format!("{who} answers it")));
            }
        }
    }
    Ok(())
}

/// Whether a session with no file has a folder to work through: the one it
/// names, else the only one open. Which folder, and whether it may be read,
/// is checked when the step runs.
fn any_folder(orch: &Orchestrator, params: &protocol::workflows::RunWorkflowParams) -> bool {
    params.workspace.is_some() || !orch.env().codebase.workspaces.all().is_empty()
}

/// The agents a step may go to, in order: the named one, or every agent
/// offering the capability (the next takes over when one fails).
pub(super) fn candidates(roster: &Roster, step: &Step) -> Vec<String> {
    let mut all: Vec<String> = match &step.target {
        Target::Agent(name) => roster.resolve(name).map(|a| vec![a.manifest.id.clone()]).unwrap_or_default(),
        Target::Capability(cap) => roster.offering(cap).iter().map(|a| a.manifest.id.clone()).collect(),
    };
    if let Some(preferred) = step.prefer.as_ref().and_then(|p| roster.resolve(p)).map(|a| a.manifest.id.clone()) {
        all.retain(|a| *a != preferred);
        all.insert(0, preferred);
    }
    all
}

/// An agent's offline skills, as a list for people.
pub(super) fn skill_names(agent: &Agent) -> String {
    agent.skills.iter().map(|s| s.name()).collect::<Vec<_>>().join(", ")
}
