//! Workflow files (`.paired/workflows/*.toml`, user workflows, the built-ins):
//! `daemon::services::orchestrator::workflow::parse`, with the condition language.
//!
//! Invariants: every `needs` and every step a condition tests exists; the
//! needs have no cycle (the engine would wait forever); each condition parses
//! again to the same tree and evaluates without panicking.
#![no_main]

use std::collections::HashMap;

use daemon::services::orchestrator::workflow::{self, Cond, Field, Value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = paired_fuzz::text(data) else { return };
    paired_fuzz::on_worker_stack(|| check(text));
});

fn check(text: &str) {
    let Ok(flow) = workflow::parse("workflow.toml", "fuzzed", text) else { return };
    let _ = flow.info();
    let ids: Vec<&str> = flow.steps.iter().map(|s| s.id.as_str()).collect();
    let known: std::collections::HashSet<&str> = ids.iter().copied().collect();
    for step in &flow.steps {
        assert!(step.needs.iter().all(|n| known.contains(n.as_str())), "step {} needs a missing step", step.id);
        if let (Some(cond), Some(text)) = (&step.when, &step.when_text) {
            assert!(cond.steps().iter().all(|s| known.contains(s)), "`when` of {} tests a missing step", step.id);
            let again = Cond::parse(text).expect("parsed once, parses again");
            // Debug, not ==: a `nan` literal is never equal to itself. Only for
            // small trees: formatting recurses deeper than the parser does.
            if cond.steps().len() <= 64 {
                assert_eq!(format!("{again:?}"), format!("{cond:?}"));
            }
            let read = |step: &str, field: Field| match field {
                Field::Status | Field::Output => Some(Value::Text(format!("{step}:succeeded"))),
                _ => Some(Value::Number(step.len() as f64)),
            };
            cond.eval(&read);
            cond.eval(&|_, _| None);
        }
    }
    for l in &flow.loops {
        assert!(l.steps.iter().all(|s| known.contains(s.as_str())));
        l.until.eval(&|_, _| Some(Value::Number(0.0)));
    }
    // No cycle: a topological order (Kahn's) takes every step.
    let index: HashMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut waiting: Vec<usize> = flow.steps.iter().map(|s| s.needs.len()).collect();
    let mut needed_by: Vec<Vec<usize>> = vec![Vec::new(); ids.len()];
    for (i, step) in flow.steps.iter().enumerate() {
        for need in &step.needs {
            needed_by[index[need.as_str()]].push(i);
        }
    }
    let mut ready: Vec<usize> = (0..ids.len()).filter(|i| waiting[*i] == 0).collect();
    let mut done = 0;
    while let Some(i) = ready.pop() {
        done += 1;
        for &j in &needed_by[i] {
            waiting[j] -= 1;
            if waiting[j] == 0 {
                ready.push(j);
            }
        }
    }
    assert_eq!(done, ids.len(), "the steps' needs form a cycle the parser let through");
}
