//! The runs service without a socket: a real SQLite store in a temporary
//! folder, the real scheduler and codebase, and a fake chat model for model
//! mode.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use protocol::{
    agents::{RunParams, RunStatus},
    client::Event,
    documents::OpenParams,
};

use super::*;
use crate::{
    platform::{
        config::{Config, Live, ProviderConfig, ProviderKind},
        paths::Paths,
    },
    services::{
        codebase::Codebase,
        documents::ANONYMOUS,
        provider::{ChatModel, ChatRequest, ChatResponse, OnStream, ProviderError, Providers, Streamed},
        scheduler::{Lane, Limits},
    },
};

/// Answers every turn with `reply`, streamed in two pieces, and records the
/// requests; with `hang`, never answers (a model that keeps the run busy).
struct FakeModel {
    reply: String,
    hang: bool,
    /// Runs "on this machine" (`local = true`).
    local: bool,
    requests: Mutex<Vec<ChatRequest>>,
}

impl FakeModel {
    fn new(reply: &str) -> Arc<FakeModel> {
        FakeModel::with(reply, false, false)
    }

    fn with(reply: &str, hang: bool, local: bool) -> Arc<FakeModel> {
        Arc::new(FakeModel { reply: reply.into(), hang, local, requests: Mutex::default() })
    }
}

impl ChatModel for FakeModel {
    fn name(&self) -> &str {
        "fake"
    }

    fn is_local(&self) -> bool {
        self.local
    }

    fn chat<'a>(
        &'a self,
        request: &'a ChatRequest,
        on_stream: &'a mut OnStream<'a>,
    ) -> futures::future::BoxFuture<'a, Result<ChatResponse, ProviderError>> {
        self.requests.lock().expect("requests").push(request.clone());
        Box::pin(async move {
            if self.hang {
                std::future::pending::<()>().await;
            }
            let (a, b) = self.reply.split_at(self.reply.len() / 2);
            on_stream(Streamed::Text(a));
            on_stream(Streamed::Text(b));
            Ok(ChatResponse { text: self.reply.clone(), tool_calls: Vec::new(), stop_reason: "stop".into() })
        })
    }
}

struct Fixture {
    runs: Arc<Runs>,
    events: crate::services::events::Receiver,
    _dir: tempfile::TempDir,
}

fn fixture(model: Option<Arc<FakeModel>>) -> Fixture {
    fixture_with(model, false)
}

fn fixture_with(model: Option<Arc<FakeModel>>, always_redact: bool) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = Paths {
        config_dir: dir.path().join("config"),
        data_dir: dir.path().join("data"),
        state_dir: dir.path().join("state"),
        runtime_dir: dir.path().join("run"),
    };
    for folder in [&paths.config_dir, &paths.data_dir, &paths.state_dir] {
        std::fs::create_dir_all(folder).expect("folder");
    }
    let store = Store::open(&paths.state_dir.join("paired.db")).expect("store");
    let mut config = Config::default();
    if model.is_some() {
        config.providers.insert(
            "fake".into(),
            ProviderConfig {
                kind: ProviderKind::Openai,
                base_url: Some("http://127.0.0.1:9/v1".into()),
                base_urls: Vec::new(),
                model: "fake-1".into(),
                api_key_env: None,
                api_key_keyring: None,
                api_version: None,
                connect_timeout_secs: 1,
                read_timeout_secs: 1,
                max_retries: 0,
                max_tokens: 256,
                max_concurrent: None,
                local: false,
                prices: Default::default(),
            },
        );
        config.agents.provider = Some("fake".into());
        config.agents.always_redact = always_redact;
    }
    let sender = crate::services::events::Events::new(256);
    let events = sender.subscribe(crate::services::events::Interest::ALL);
    let codebase = Arc::new(Codebase::new(512 * 1024, 4000, sender.clone()));
    let providers = Providers::default();
    if let Some(model) = model {
        providers.insert("fake", model);
    }
    let env = Arc::new(Env {
        live: Arc::new(Live::new(&config)),
        config: Arc::new(config),
        team: Arc::new(crate::services::team::policy::TeamPolicy::new(paths.clone())),
        quotas: Arc::new(crate::services::team::quota::Quotas::new(paths.clone())),
        paths,
        events: sender,
        codebase,
        providers,
    });
    let scheduler = Scheduler::new(Limits {
        max_running: 4,
        interactive_reserved: 1,
        per_lane: 2,
        lanes: HashMap::from([(Lane::Offline, 2)]),
        max_queued: 8,
    });
    Fixture { runs: Arc::new(Runs::new(env, store, scheduler)), events, _dir: dir }
}

const BUGGY: &str = "fn parse(input: &str) -> u32 {\n    let n = input.parse::<u32>().unwrap();\n    n\n}\n";

fn open(runs: &Runs, uri: &str, text: &str) {
    let params = OpenParams { uri: uri.into(), language_id: "rust".into(), version: 1, text: text.into() };
    runs.env().codebase.documents().open(ANONYMOUS, params);
}

fn params(agent: &str, skill: Option<&str>, uri: Option<&str>, prompt: Option<&str>) -> RunParams {
    RunParams {
        agent: agent.into(),
        skill: skill.map(str::to_owned),
        uri: uri.map(str::to_owned),
        position: None,
        range: None,
        prompt: prompt.map(str::to_owned),
        workspace: None,
        wait: true,
        max_tokens: None,
    }
}

#[tokio::test]
async fn an_offline_review_is_recorded_from_start_to_finish() {
    let f = fixture(None);
    open(&f.runs, "untitled:parse.rs", BUGGY);
    let run = f.runs.run_for(params("sherlock", Some("review"), Some("untitled:parse.rs"), None), "t".into()).await;
    let run = run.expect("run");
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(run.skill, "review");
    assert!(run.findings.iter().any(|f| f.line == 2), "the unwrap on line 2: {:?}", run.findings);
    let stored = f.runs.get(&run.id).await.expect("stored");
    assert_eq!((stored.status, stored.findings.len()), (run.status, run.findings.len()));
    let listed = f.runs.list_runs(10).await.expect("list");
    assert_eq!(listed.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [run.id.as_str()]);
    assert!(listed[0].findings.is_empty(), "a listing leaves the output out");
}

#[tokio::test]
async fn what_a_run_lacks_is_said_before_anything_is_recorded() {
    let f = fixture(None);
    let no_file = f.runs.run_for(params("sherlock", Some("review"), None, None), "t".into()).await;
    assert!(matches!(no_file, Err(RunError::Missing { missing: Missing::File, .. })), "{no_file:?}");
    let no_skill = f.runs.run_for(params("sherlock", Some("dance"), Some("untitled:x.rs"), None), "t".into()).await;
    assert!(matches!(&no_skill, Err(RunError::Invalid(m)) if m.ends_with("its skills: review")), "{no_skill:?}");
    let nobody = f.runs.run_for(params("nobody", None, None, None), "t".into()).await;
    assert!(matches!(nobody, Err(RunError::NotFound(_))), "{nobody:?}");
    let no_model = f.runs.run_for(params("sherlock", Some("ask"), None, Some("why?")), "t".into()).await;
    assert!(matches!(&no_model, Err(RunError::Refused(m)) if m.contains("no model provider")), "{no_model:?}");
    assert!(f.runs.list_runs(10).await.expect("list").is_empty(), "refusals leave no rows");
}

#[tokio::test]
async fn model_mode_streams_counts_tokens_and_redacts_for_a_remote_model() {
    let model = FakeModel::new("It panics on bad input.");
    let mut f = fixture(Some(model.clone()));
    let secret = format!("{BUGGY}const KEY: &str = \"AKIA{}\";\n", "ABCDEFGHIJKLMNOP");
    open(&f.runs, "untitled:parse.rs", &secret);
    let ask = params("sherlock", None, Some("untitled:parse.rs"), Some("What can go wrong?"));
    let run = f.runs.run_for(ask, "t".into()).await.expect("run");
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(run.skill, "ask");
    assert_eq!(run.output, "It panics on bad input.");
    assert!(run.tokens > 0, "tokens are counted");
    assert!(run.findings.iter().any(|f| f.rule != "model"), "grounded in Sherlock's own review");
    let sent = &model.requests.lock().expect("requests")[0];
    let user = &sent.messages[0].content;
    assert!(user.contains("What can go wrong?") && user.contains("fn parse"), "{user}");
    assert!(!user.contains("AKIAABCDEFGHIJKLMNOP"), "a remote model never sees the key: {user}");
    let mut deltas = Vec::new();
    while let Some(event) = f.events.try_recv() {
        if let Event::RunUpdate { output_delta: Some(delta), .. } = event {
            deltas.push(delta);
        }
    }
    assert_eq!(deltas, ["It panics o", "n bad input."], "streamed as it came, once");
}

#[tokio::test]
async fn a_run_budget_stops_the_request_before_it_is_sent() {
    let model = FakeModel::new("never");
    let f = fixture(Some(model.clone()));
    let ask = RunParams { max_tokens: Some(5), ..params("sherlock", Some("ask"), None, Some("A long question?")) };
    let run = f.runs.run_for(ask, "t".into()).await.expect("run");
    assert_eq!(run.status, RunStatus::Failed);
    assert!(run.error.as_deref().is_some_and(|e| e.contains("token budget (5)")), "{run:?}");
    assert!(model.requests.lock().expect("requests").is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_cancel_stops_the_model_and_the_row_says_so() {
    let model = FakeModel::with("", true, false);
    let f = fixture(Some(model.clone()));
    let ask = RunParams { wait: false, ..params("sherlock", Some("ask"), None, Some("Think forever.")) };
    let started = f.runs.run_for(ask, "t".into()).await.expect("started");
    assert_eq!(started.status, RunStatus::Running);
    for _ in 0..200 {
        if !model.requests.lock().expect("requests").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let cancelled = f.runs.cancel(&started.id).await.expect("cancel");
    assert_eq!(cancelled.status, RunStatus::Cancelled);
    let waited = tokio::time::timeout(Duration::from_secs(5), f.runs.wait(&started.id)).await;
    assert_eq!(waited.expect("finished").expect("run").status, RunStatus::Cancelled);
    assert_eq!(f.runs.cancel(&started.id).await.expect("again").status, RunStatus::Cancelled, "idempotent");
}

#[tokio::test]
async fn only_a_model_said_to_run_here_sees_secrets_and_a_policy_can_refuse_even_that() {
    let secret = format!("{BUGGY}const KEY: &str = \"AKIA{}\";\n", "ABCDEFGHIJKLMNOP");
    for (always_redact, sees) in [(false, true), (true, false)] {
        let model = FakeModel::with("ok", false, true);
        let f = fixture_with(Some(model.clone()), always_redact);
        open(&f.runs, "untitled:parse.rs", &secret);
        let ask = params("sherlock", Some("ask"), Some("untitled:parse.rs"), Some("Anything leaking?"));
        assert_eq!(f.runs.run_for(ask, "t".into()).await.expect("run").status, RunStatus::Succeeded);
        let user = model.requests.lock().expect("requests")[0].messages[0].content.clone();
        assert_eq!(user.contains("AKIAABCDEFGHIJKLMNOP"), sees, "always_redact = {always_redact}: {user}");
    }
}

#[tokio::test]
async fn a_manifest_naming_an_unconfigured_provider_is_refused_not_sent_to_the_default() {
    let model = FakeModel::new("the default answered");
    let f = fixture(Some(model.clone()));
    let manifest =
        "id = \"ferris\"\nprovider = \"nope\"\n[metadata]\nname = \"Ferris\"\nversion = \"1.0.0\"\nrole = \"docs\"\n";
    let agents = f.runs.env().paths.config_dir.join("agents");
    std::fs::create_dir_all(&agents).expect("mkdir");
    std::fs::write(agents.join("ferris.toml"), manifest).expect("write");
    let refused = f.runs.run_for(params("ferris", None, None, Some("Hello?")), "t".into()).await;
    assert!(
        matches!(&refused, Err(RunError::Refused(m)) if m.contains("names the model provider \"nope\"") && m.contains("[providers.nope]")),
        "{refused:?}"
    );
    assert!(model.requests.lock().expect("requests").is_empty(), "the default provider was not used in its place");
    let problems = f.runs.problems(None);
    assert!(problems.iter().any(|p| p.contains("\"nope\"")), "{problems:?}");
    assert!(f.runs.list(None).iter().any(|a| a.id == "ferris" && a.skills.iter().all(|s| s.name != "ask")));
}
