//! The examples of Edison's documentation: the calls the project's own
//! tests make of the function, probed on a scratch copy in the sandbox as
//! his tests are.

use std::path::Path;

use agents::skills::{document::Example, testgen};
use context::SyntaxDocument;

use super::{ONE_AT_A_TIME, Trial, how_to_run, tests_of};
use crate::platform::{config::SandboxConfig, paths::Paths};

/// What the function at `cursor` of `doc` returns for the inputs the
/// project's own tests give it, run on a scratch copy in the sandbox as
/// Edison's tests are: examples for its documentation. None when it is
/// documented already, its tests give it no literal inputs, or it could not
/// be run (a doc comment is written without them).
pub async fn examples(
    paths: &Paths,
    config: &SandboxConfig,
    root: &Path,
    rel: &str,
    doc: &SyntaxDocument,
    cursor: usize,
) -> Vec<Example> {
    if !agents::skills::document::wants_examples(doc, cursor) {
        return Vec::new();
    }
    let tests = tests_of(root, doc).await;
    let Ok(mut target) = testgen::target(rel, doc, cursor, &tests) else { return Vec::new() };
    // A setter's value is its getter's, which no example call shows.
    let arity = target.calls.first().map_or(0, Vec::len);
    let mut calls = testgen::example_calls(target.called(), doc.language(), &tests);
    // A Python call may leave defaulted parameters out, as the simplest
    // examples do (`intcomma(100)`, where only `intcomma(14308.4, None)` was
    // shown); one that leaves out more raises, and shows nothing.
    let python = doc.language() == context::Language::Python;
    calls.retain(|call| call.len() == arity || (python && call.len() < arity));
    // By position only: a keyword (`build="build.4"`) may skip a parameter.
    let keyword = |arg: &String| {
        arg.split_once('=').is_some_and(|(name, value)| {
            !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_') && !value.starts_with('=')
        })
    };
    calls.retain(|call| !call.iter().any(keyword));
    calls.truncate(8);
    // (Nor does a call of the exported function a private one is reached through.)
    if calls.is_empty() || target.reads.is_some() || target.through.is_some() {
        return Vec::new();
    }
    target.calls = calls;
    let seen = async {
        let (js, runner) = how_to_run(&target, rel, root)?;
        let _turn = ONE_AT_A_TIME.lock().await;
        let trial = Trial::new(paths, config, root, &target).await?;
        match &js {
            Some(plan) => trial.probe_js(&target, plan, rel, doc.text()).await,
            None => trial.probe(&target, &runner, rel, doc.text()).await,
        }
    };
    match seen.await {
        Ok((seen, printed)) => testgen::doc_examples(&target, &seen, &printed),
        Err(why) => {
            tracing::debug!(function = %target.name, "no examples for its documentation: {why}");
            Vec::new()
        }
    }
}
