//! Workflow definitions: the TOML format, its validation (errors name the file,
//! the step and the field), the condition language, and the built-ins — which
//! are written in the same format and go through the same checks.

use std::collections::{BTreeSet, HashMap};

use serde::Deserialize;

/// Built-in workflows, in the file format.
pub const BUILTINS: [(&str, &str); 4] = [
    (
        "review",
        r#"
description = "Sherlock reviews the file while Leonardo maps the workspace; Alex merges their reports."
[conflicts]
strategy = "merge"
[[steps]]
id = "qa"
agent = "sherlock"
skill = "review"
prompt = "Review this file. {prompt}"
[[steps]]
id = "architecture"
agent = "leonardo"
skill = "architecture"
[[steps]]
id = "merge"
agent = "alex"
skill = "merge"
needs = ["qa", "architecture"]
"#,
    ),
    (
        "feature",
        r#"
description = "Alex plans, Leonardo designs, Edison proposes edits, Sherlock reviews them; again until the review is clean, at most 3 rounds."
[conflicts]
strategy = "priority"
[[steps]]
id = "plan"
agent = "alex"
skill = "route"
prompt = "{prompt}"
[[steps]]
id = "design"
agent = "leonardo"
skill = "architecture"
needs = ["plan"]
prompt = "Design this change: {prompt}. The plan: {steps.plan.output}"
model = true
[[steps]]
id = "edit"
agent = "edison"
skill = "document"
needs = ["design"]
prompt = "Propose the edits for: {prompt}. The design: {steps.design.output}"
model = true
[[steps]]
id = "review"
agent = "sherlock"
skill = "review"
needs = ["edit"]
prompt = "Review the proposed change: {steps.edit.output}"
[[loops]]
steps = ["design", "edit", "review"]
until = "steps.review.errors == 0"
max_rounds = 3
"#,
    ),
    (
        "delegate",
        r#"
description = "Alex splits the request into subtasks and assigns each to the agent for it (re-assigned if it fails); Alex merges the results."
[conflicts]
strategy = "priority"
[[steps]]
id = "subtasks"
agent = "alex"
each = "subtask"
prompt = "{prompt}"
retries = 1
[[steps]]
id = "merge"
agent = "alex"
skill = "merge"
needs = ["subtasks"]
"#,
    ),
    (
        "docs",
        r#"
description = "The documentation engine: a doc comment drafted for every undocumented definition in the file (or the workspace), merged."
[conflicts]
strategy = "merge"
[[steps]]
id = "document"
agent = "edison"
skill = "document"
each = "undocumented_symbol"
[[steps]]
id = "merge"
agent = "alex"
skill = "merge"
needs = ["document"]
"#,
    ),
];

/// How conflicts between agents are settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// The agent higher in `priority` (by default QA, architecture, dev, PM, UX, analyst, scrum) wins.
    Priority,
    /// The position most agents share wins; a tie falls back.
    Vote,
    /// Edits that do not overlap are all kept; overlapping ones fall back.
    Merge,
    /// The `arbiter` agent decides (its model in model mode, its routing rules offline).
    Arbiter,
    /// The user decides, through the editor (`choice` event, `sessions/decide`).
    Ask,
}

impl Strategy {
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Priority => "priority",
            Strategy::Vote => "vote",
            Strategy::Merge => "merge",
            Strategy::Arbiter => "arbiter",
            Strategy::Ask => "ask",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConflictsFile {
    strategy: Option<Strategy>,
    #[serde(default)]
    priority: Vec<String>,
    arbiter: Option<String>,
    fallback: Option<Strategy>,
    ask_timeout_secs: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Each {
    /// One item per definition without a doc comment, in the file or the workspace.
    UndocumentedSymbol,
    /// The step's agent coordinates: it splits the request into subtasks (by
    /// its routing rules offline, by its model's plan in model mode), one item
    /// each, assigned by capability and re-assigned when one fails.
    Subtask,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    id: String,
    agent: Option<String>,
    capability: Option<String>,
    skill: Option<String>,
    prompt: Option<String>,
    #[serde(default)]
    needs: Vec<String>,
    when: Option<String>,
    #[serde(default)]
    retries: u32,
    timeout_secs: Option<u64>,
    max_tokens: Option<u64>,
    each: Option<Each>,
    #[serde(default)]
    continue_on_error: bool,
    /// Which steps' board entries this step's agent may read (default: all).
    sees: Option<Vec<String>>,
    /// The step answers its prompt in model mode or not at all: without a
    /// provider the workflow is refused before it starts, rather than the
    /// step's offline skill answering something else.
    #[serde(default)]
    model: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoopFile {
    steps: Vec<String>,
    until: String,
    max_rounds: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkflowFile {
    name: Option<String>,
    #[serde(default)]
    description: String,
    timeout_secs: Option<u64>,
    max_tokens: Option<u64>,
    conflicts: Option<ConflictsFile>,
    #[serde(default)]
    steps: Vec<StepFile>,
    #[serde(default)]
    loops: Vec<LoopFile>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Agent(String),
    Capability(String),
}

#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    pub target: Target,
    pub skill: Option<String>,
    pub prompt: Option<String>,
    pub needs: Vec<String>,
    pub when: Option<Cond>,
    pub when_text: Option<String>,
    pub retries: u32,
    pub timeout_secs: Option<u64>,
    pub max_tokens: Option<u64>,
    pub each: Option<Each>,
    pub continue_on_error: bool,
    pub sees: Option<Vec<String>>,
    /// Needs model mode (`model = true`).
    pub needs_model: bool,
    /// For a subtask: the agent the coordinator picked, tried first.
    pub prefer: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Loop {
    pub steps: Vec<String>,
    pub until: Cond,
    pub max_rounds: u32,
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub strategy: Strategy,
    pub priority: Vec<String>,
    pub arbiter: String,
    pub fallback: Strategy,
    pub ask_timeout_secs: u64,
}

#[derive(Debug, Clone)]
pub struct Workflow {
    pub name: String,
    pub description: String,
    /// `built-in` or the file.
    pub source: String,
    pub steps: Vec<Step>,
    pub loops: Vec<Loop>,
    pub policy: Policy,
    pub timeout_secs: Option<u64>,
    pub max_tokens: Option<u64>,
}

impl Workflow {
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// The loop a step belongs to.
    pub fn loop_of(&self, id: &str) -> Option<usize> {
        self.loops.iter().position(|l| l.steps.iter().any(|s| s == id))
    }

    pub fn info(&self) -> protocol::workflows::WorkflowInfo {
        protocol::workflows::WorkflowInfo {
            name: self.name.clone(),
            description: self.description.clone(),
            source: self.source.clone(),
            strategy: self.policy.strategy.name().to_owned(),
            steps: self
                .steps
                .iter()
                .map(|s| protocol::workflows::StepInfo {
                    id: s.id.clone(),
                    agent: match &s.target {
                        Target::Agent(a) => a.clone(),
                        Target::Capability(c) => format!("capability:{c}"),
                    },
                    skill: s.skill.clone(),
                    needs: s.needs.clone(),
                    when: s.when_text.clone(),
                })
                .collect(),
        }
    }
}

/// The default order for `priority`: whose word stands when agents disagree.
pub const DEFAULT_PRIORITY: [&str; 7] = ["sherlock", "leonardo", "edison", "alex", "maya", "marie", "vince"];

/// Parses and checks a workflow file. `origin` names it in errors.
pub fn parse(origin: &str, default_name: &str, text: &str) -> Result<Workflow, String> {
    let file: WorkflowFile = toml::from_str(text).map_err(|err| {
        let line = err.span().map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        let message = err.message().to_owned();
        match line {
            Some(line) => format!("{origin}: line {line}: {message}"),
            None => format!("{origin}: {message}"),
        }
    })?;
    let name = file.name.clone().unwrap_or_else(|| default_name.to_owned());
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')) {
        return fail(origin, "`name`", format!("{name:?} must be letters, digits, `-` or `_`"));
    }
    if file.steps.is_empty() {
        return fail(origin, "`steps`", "a workflow needs at least one [[steps]]".into());
    }
    let seen = step_ids(origin, &file.steps)?;
    let steps = file.steps.iter().map(|step| parse_step(origin, step, &seen)).collect::<Result<Vec<_>, _>>()?;
    if let Some(cycle) = find_cycle(&steps) {
        return fail(origin, &format!("step `{cycle}`"), "`needs`: the steps' needs form a cycle".into());
    }
    let by_id: HashMap<&str, &Step> = steps.iter().map(|s| (s.id.as_str(), s)).collect();
    check_conditions(origin, &steps, &by_id)?;
    let loops = parse_loops(origin, &file.loops, &steps, &by_id, &seen)?;
    let policy = parse_policy(origin, file.conflicts.as_ref())?;
    if file.timeout_secs == Some(0) {
        return fail(origin, "`timeout_secs`", "must be greater than 0".into());
    }
    Ok(Workflow {
        name,
        description: file.description,
        source: origin.to_owned(),
        steps,
        loops,
        policy,
        timeout_secs: file.timeout_secs,
        max_tokens: file.max_tokens,
    })
}

/// An error naming the file, where in it, and why.
fn fail<T>(origin: &str, where_: &str, reason: String) -> Result<T, String> {
    Err(format!("{origin}: {where_}: {reason}"))
}

/// The steps' ids, each checked and unique.
fn step_ids<'a>(origin: &str, steps: &'a [StepFile]) -> Result<BTreeSet<&'a str>, String> {
    let mut seen = BTreeSet::new();
    for step in steps {
        if step.id.is_empty() || !step.id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')) {
            return fail(origin, &format!("step {:?}", step.id), "`id` must be letters, digits, `-` or `_`".into());
        }
        if !seen.insert(step.id.as_str()) {
            return fail(origin, &format!("step `{}`", step.id), "`id` is used by another step".into());
        }
    }
    Ok(seen)
}

/// One `[[steps]]` entry, checked against the workflow's step ids (`seen`).
fn parse_step(origin: &str, step: &StepFile, seen: &BTreeSet<&str>) -> Result<Step, String> {
    let at = format!("step `{}`", step.id);
    let target = match (&step.agent, &step.capability) {
        (Some(agent), None) if !agent.trim().is_empty() => Target::Agent(agent.trim().to_owned()),
        (None, Some(cap)) if !cap.trim().is_empty() => Target::Capability(cap.trim().to_owned()),
        (Some(_), Some(_)) => return fail(origin, &at, "give `agent` or `capability`, not both".into()),
        _ => return fail(origin, &at, "`agent`: name the agent (or a `capability` to choose one by)".into()),
    };
    for need in &step.needs {
        if need == &step.id {
            return fail(origin, &at, "`needs`: a step cannot need itself".into());
        }
        if !seen.contains(need.as_str()) {
            return fail(origin, &at, format!("`needs`: no step {need:?} in this workflow"));
        }
    }
    let when = match &step.when {
        Some(text) => Some(
            Cond::parse(text)
                .and_then(|c| c.check(seen).map(|()| c))
                .map_err(|reason| format!("{origin}: {at}: `when`: {reason}"))?,
        ),
        None => None,
    };
    if step.retries > 5 {
        return fail(origin, &at, "`retries`: at most 5".into());
    }
    if step.timeout_secs == Some(0) {
        return fail(origin, &at, "`timeout_secs`: must be greater than 0".into());
    }
    if step.max_tokens == Some(0) {
        return fail(origin, &at, "`max_tokens`: must be greater than 0".into());
    }
    if let Some(unknown) = step.sees.iter().flatten().find(|s| !seen.contains(s.as_str())) {
        return fail(origin, &at, format!("`sees`: no step {unknown:?} in this workflow"));
    }
    Ok(Step {
        id: step.id.clone(),
        target,
        skill: step.skill.clone(),
        prompt: step.prompt.clone(),
        needs: step.needs.clone(),
        when,
        when_text: step.when.clone(),
        retries: step.retries,
        timeout_secs: step.timeout_secs,
        max_tokens: step.max_tokens,
        each: step.each,
        continue_on_error: step.continue_on_error,
        sees: step.sees.clone(),
        needs_model: step.model,
        prefer: None,
    })
}

/// A condition may only test steps that have finished when it is evaluated.
fn check_conditions(origin: &str, steps: &[Step], by_id: &HashMap<&str, &Step>) -> Result<(), String> {
    for step in steps {
        if let Some(cond) = &step.when {
            let before = ancestors(by_id, &step.id);
            if let Some(other) = cond.steps().into_iter().find(|s| !before.contains(*s)) {
                return fail(
                    origin,
                    &format!("step `{}`", step.id),
                    format!(
                        "`when`: tests step {other:?}, which is not among its needs (direct or indirect); add it to `needs`"
                    ),
                );
            }
        }
    }
    Ok(())
}

/// The `[[loops]]`: each step in one loop at most, rounds bounded, and needs
/// that let the loop start.
fn parse_loops(
    origin: &str,
    files: &[LoopFile],
    steps: &[Step],
    by_id: &HashMap<&str, &Step>,
    seen: &BTreeSet<&str>,
) -> Result<Vec<Loop>, String> {
    let mut loops = Vec::new();
    let mut looped = BTreeSet::new();
    for (i, l) in files.iter().enumerate() {
        let at = format!("loops[{i}]");
        if l.steps.is_empty() {
            return fail(origin, &at, "`steps`: name the steps to repeat".into());
        }
        for id in &l.steps {
            if !seen.contains(id.as_str()) {
                return fail(origin, &at, format!("`steps`: no step {id:?} in this workflow"));
            }
            if !looped.insert(id.clone()) {
                return fail(origin, &at, format!("`steps`: step {id:?} is already in another loop"));
            }
        }
        if !(1..=20).contains(&l.max_rounds) {
            return fail(origin, &at, "`max_rounds`: between 1 and 20".into());
        }
        check_loop_needs(origin, l, files, steps, by_id)?;
        let until = Cond::parse(&l.until)
            .and_then(|c| c.check(seen).map(|()| c))
            .map_err(|reason| format!("{origin}: {at}: `until`: {reason}"))?;
        loops.push(Loop { steps: l.steps.clone(), until, max_rounds: l.max_rounds });
    }
    Ok(loops)
}

/// A loop step may need steps of its loop, or steps before the loop — never
/// a step of another loop, nor one that waits for this loop.
fn check_loop_needs(
    origin: &str,
    l: &LoopFile,
    files: &[LoopFile],
    steps: &[Step],
    by_id: &HashMap<&str, &Step>,
) -> Result<(), String> {
    for id in &l.steps {
        let Some(step) = steps.iter().find(|s| &s.id == id) else { continue };
        for need in step.needs.iter().filter(|n| !l.steps.contains(n)) {
            if files.iter().any(|other| other.steps.contains(need)) {
                return fail(origin, &format!("step `{id}`"), format!("`needs`: {need:?} is in another loop"));
            }
            if ancestors(by_id, need).iter().any(|a| l.steps.iter().any(|s| s == a)) {
                return fail(
                    origin,
                    &format!("step `{id}`"),
                    format!("`needs`: {need:?} waits for the loop this step is in, so neither could start"),
                );
            }
        }
    }
    Ok(())
}

/// `[conflicts]`, with its defaults.
fn parse_policy(origin: &str, conflicts: Option<&ConflictsFile>) -> Result<Policy, String> {
    let strategy = conflicts.and_then(|c| c.strategy).unwrap_or(Strategy::Priority);
    let fallback = conflicts.and_then(|c| c.fallback).unwrap_or(Strategy::Priority);
    if matches!(fallback, Strategy::Merge | Strategy::Ask) {
        return fail(
            origin,
            "`conflicts.fallback`",
            "must be priority, vote or arbiter (a fallback must always decide)".into(),
        );
    }
    let priority = match conflicts.map(|c| c.priority.clone()).filter(|p| !p.is_empty()) {
        Some(p) => p,
        None => DEFAULT_PRIORITY.iter().map(|s| (*s).to_owned()).collect(),
    };
    Ok(Policy {
        strategy,
        priority,
        arbiter: conflicts.and_then(|c| c.arbiter.clone()).unwrap_or_else(|| "alex".into()),
        fallback,
        ask_timeout_secs: conflicts.and_then(|c| c.ask_timeout_secs).unwrap_or(600),
    })
}

/// Every step `id` needs, directly or through others. `by_id` indexes the
/// steps: a lookup by scanning them made checking a long chain of steps with
/// conditions cubic (minutes for a 200 KiB file; found while fuzzing).
fn ancestors<'a>(by_id: &HashMap<&str, &'a Step>, id: &str) -> BTreeSet<&'a str> {
    let mut found = BTreeSet::new();
    let mut todo: Vec<&str> = by_id.get(id).map(|s| s.needs.iter().map(String::as_str).collect()).unwrap_or_default();
    while let Some(next) = todo.pop() {
        if let Some(step) = by_id.get(next)
            && found.insert(step.id.as_str())
        {
            todo.extend(step.needs.iter().map(String::as_str));
        }
    }
    found
}

fn find_cycle(steps: &[Step]) -> Option<String> {
    let index: HashMap<&str, usize> = steps.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
    let mut state = vec![0u8; steps.len()];
    fn visit(i: usize, steps: &[Step], index: &HashMap<&str, usize>, state: &mut [u8]) -> Option<usize> {
        match state[i] {
            1 => return Some(i),
            2 => return None,
            _ => {}
        }
        state[i] = 1;
        for need in &steps[i].needs {
            if let Some(&j) = index.get(need.as_str())
                && let Some(found) = visit(j, steps, index, state)
            {
                return Some(found);
            }
        }
        state[i] = 2;
        None
    }
    (0..steps.len()).find_map(|i| visit(i, steps, &index, &mut state)).map(|i| steps[i].id.clone())
}

/// A condition: comparisons on earlier steps' results joined by `and` / `or`
/// (`and` binds tighter): `steps.review.errors > 0 and steps.edit.status == "succeeded"`.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Compare { step: String, field: Field, op: Op, value: Literal },
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Errors,
    Warnings,
    Findings,
    Edits,
    Status,
    Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Contains,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Number(f64),
    Text(String),
}

/// What a condition reads of a step.
pub enum Value {
    Number(f64),
    Text(String),
}

impl Cond {
    pub fn parse(text: &str) -> Result<Cond, String> {
        let tokens = tokenize(text)?;
        if tokens.is_empty() {
            return Err("the condition is empty".into());
        }
        let mut or_parts = Vec::new();
        for or_part in tokens.split(|t| t == "or") {
            let mut and_parts = Vec::new();
            for term in or_part.split(|t| t == "and") {
                and_parts.push(parse_term(term)?);
            }
            let mut it = and_parts.into_iter();
            let first = it.next().ok_or("`and` needs a comparison on each side")?;
            or_parts.push(it.fold(first, |a, b| Cond::And(Box::new(a), Box::new(b))));
        }
        let mut it = or_parts.into_iter();
        let first = it.next().ok_or("`or` needs a comparison on each side")?;
        Ok(it.fold(first, |a, b| Cond::Or(Box::new(a), Box::new(b))))
    }

    /// The steps it tests.
    pub fn steps(&self) -> Vec<&str> {
        match self {
            Cond::Compare { step, .. } => vec![step.as_str()],
            Cond::And(a, b) | Cond::Or(a, b) => {
                let mut all = a.steps();
                all.extend(b.steps());
                all
            }
        }
    }

    fn check(&self, steps: &BTreeSet<&str>) -> Result<(), String> {
        match self {
            Cond::Compare { step, .. } if !steps.contains(step.as_str()) => {
                Err(format!("no step {step:?} in this workflow"))
            }
            Cond::Compare { .. } => Ok(()),
            Cond::And(a, b) | Cond::Or(a, b) => a.check(steps).and_then(|()| b.check(steps)),
        }
    }

    /// Evaluates against the latest result of each step; a step without one
    /// makes its comparison false.
    pub fn eval(&self, read: &dyn Fn(&str, Field) -> Option<Value>) -> bool {
        match self {
            Cond::And(a, b) => a.eval(read) && b.eval(read),
            Cond::Or(a, b) => a.eval(read) || b.eval(read),
            Cond::Compare { step, field, op, value } => {
                let Some(actual) = read(step, *field) else { return false };
                match (actual, value) {
                    (Value::Number(a), Literal::Number(b)) => match op {
                        Op::Eq => a == *b,
                        Op::Ne => a != *b,
                        Op::Gt => a > *b,
                        Op::Ge => a >= *b,
                        Op::Lt => a < *b,
                        Op::Le => a <= *b,
                        Op::Contains => false,
                    },
                    (Value::Text(a), Literal::Text(b)) => match op {
                        Op::Eq => a == *b,
                        Op::Ne => a != *b,
                        Op::Contains => a.contains(b.as_str()),
                        _ => false,
                    },
                    _ => false,
                }
            }
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            chars.next();
            let mut literal = String::from("\"");
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some(c) => literal.push(c),
                    None => return Err("a string is not closed with `\"`".into()),
                }
            }
            tokens.push(literal);
        } else if "=!<>".contains(c) {
            let mut op = String::new();
            while let Some(&c) = chars.peek().filter(|c| "=!<>".contains(**c)) {
                op.push(c);
                chars.next();
            }
            tokens.push(op);
        } else {
            let mut word = String::new();
            while let Some(&c) = chars.peek().filter(|c| !c.is_whitespace() && !"=!<>\"".contains(**c)) {
                word.push(c);
                chars.next();
            }
            tokens.push(word);
        }
    }
    Ok(tokens)
}

fn parse_term(term: &[String]) -> Result<Cond, String> {
    let [reference, op, value] = term else {
        return Err(format!("expected `steps.<id>.<field> <op> <value>`, found {:?}", term.join(" ")));
    };
    let parts: Vec<&str> = reference.split('.').collect();
    let ["steps", step, field] = parts[..] else {
        return Err(format!("{reference:?}: refer to a step's result as `steps.<id>.<field>`"));
    };
    let field = match field {
        "errors" => Field::Errors,
        "warnings" => Field::Warnings,
        "findings" => Field::Findings,
        "edits" => Field::Edits,
        "status" => Field::Status,
        "output" => Field::Output,
        other => {
            return Err(format!("{other:?} is not a step field (errors, warnings, findings, edits, status, output)"));
        }
    };
    let op = match op.as_str() {
        "==" => Op::Eq,
        "!=" => Op::Ne,
        ">" => Op::Gt,
        ">=" => Op::Ge,
        "<" => Op::Lt,
        "<=" => Op::Le,
        "contains" => Op::Contains,
        other => return Err(format!("{other:?} is not an operator (==, !=, >, >=, <, <=, contains)")),
    };
    let value = match value.strip_prefix('"') {
        Some(text) => Literal::Text(text.to_owned()),
        None => match value.parse::<f64>() {
            Ok(n) => Literal::Number(n),
            Err(_) => Literal::Text(value.clone()),
        },
    };
    let numeric = matches!(field, Field::Errors | Field::Warnings | Field::Findings | Field::Edits);
    match (&value, numeric, op) {
        (Literal::Number(_), true, Op::Contains) | (Literal::Text(_), true, _) => {
            Err(format!("{reference} is a number: compare it with a number"))
        }
        (Literal::Number(_), false, _) => Err(format!("{reference} is text: compare it with a quoted string")),
        (Literal::Text(_), false, Op::Gt | Op::Ge | Op::Lt | Op::Le) => {
            Err(format!("{reference} is text: use ==, != or contains"))
        }
        _ => Ok(Cond::Compare { step: (*step).to_owned(), field, op, value }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse() {
        for (name, text) in BUILTINS {
            let workflow = parse("built-in", name, text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(workflow.name, name);
        }
    }

    #[test]
    fn errors_name_file_step_and_field() {
        let base = "[[steps]]\nid = \"a\"\nagent = \"sherlock\"\n";
        let err = |text: &str| parse("wf.toml", "wf", text).expect_err("invalid");
        assert_eq!(
            err("[[steps]]\nid = \"a\"\n"),
            "wf.toml: step `a`: `agent`: name the agent (or a `capability` to choose one by)"
        );
        assert_eq!(
            err(&format!("{base}[[steps]]\nid = \"b\"\nagent = \"x\"\nneeds = [\"c\"]\n")),
            "wf.toml: step `b`: `needs`: no step \"c\" in this workflow"
        );
        assert_eq!(
            err(&format!("{base}[[steps]]\nid = \"a\"\nagent = \"x\"\n")),
            "wf.toml: step `a`: `id` is used by another step"
        );
        assert_eq!(
            err(&format!("{base}[[steps]]\nid = \"b\"\nagent = \"x\"\nwhen = \"steps.a.errors > 0\"\n")),
            "wf.toml: step `b`: `when`: tests step \"a\", which is not among its needs (direct or indirect); add it to `needs`"
        );
        assert_eq!(
            err(&format!(
                "{base}[[steps]]\nid = \"b\"\nagent = \"x\"\nneeds = [\"a\"]\nwhen = \"steps.z.errors > 0\"\n"
            )),
            "wf.toml: step `b`: `when`: no step \"z\" in this workflow"
        );
        assert_eq!(
            err(
                "[[steps]]\nid = \"a\"\nagent = \"x\"\nneeds = [\"b\"]\n[[steps]]\nid = \"b\"\nagent = \"x\"\nneeds = [\"a\"]\n"
            ),
            "wf.toml: step `a`: `needs`: the steps' needs form a cycle"
        );
        assert!(
            err(&format!(
                "{base}[[steps]]\nid = \"b\"\nagent = \"x\"\nneeds = [\"a\"]\nwhen = \"steps.a.errors > \\\"x\\\"\"\n"
            ))
            .contains("step `b`: `when`: steps.a.errors is a number")
        );
        assert!(
            err(&format!(
                "{base}[[steps]]\nid = \"b\"\nagent = \"x\"\nneeds = [\"a\"]\nwhen = \"steps.a.colour == 1\"\n"
            ))
            .contains("step `b`: `when`: \"colour\" is not a step field")
        );
        assert_eq!(err(&format!("{base}retries = 9\n")), "wf.toml: step `a`: `retries`: at most 5");
        assert_eq!(
            err(&format!("{base}[[loops]]\nsteps = [\"a\"]\nuntil = \"steps.a.errors == 0\"\nmax_rounds = 0\n")),
            "wf.toml: loops[0]: `max_rounds`: between 1 and 20"
        );
        assert_eq!(err(&format!("{base}colour = 1\n")).split(':').take(2).collect::<Vec<_>>(), ["wf.toml", " line 4"]);
        assert!(err(&format!("[conflicts]\nstrategy = \"coin\"\n{base}")).contains("unknown variant `coin`"));
        assert_eq!(err("description = \"x\"\n"), "wf.toml: `steps`: a workflow needs at least one [[steps]]");
        let crossing = "[[steps]]\nid = \"a\"\nagent = \"x\"\n[[steps]]\nid = \"b\"\nagent = \"x\"\nneeds = [\"a\"]\n[[steps]]\nid = \"c\"\nagent = \"x\"\nneeds = [\"b\"]\n[[loops]]\nsteps = [\"a\", \"c\"]\nuntil = \"steps.c.errors == 0\"\nmax_rounds = 2\n";
        assert_eq!(
            err(crossing),
            "wf.toml: step `c`: `needs`: \"b\" waits for the loop this step is in, so neither could start"
        );
    }

    #[test]
    fn conditions_evaluate_against_step_results() {
        let cond =
            Cond::parse("steps.r.errors > 0 and steps.e.status == \"succeeded\" or steps.r.output contains \"cycle\"")
                .expect("parses");
        let read = |errors: f64, status: &'static str, output: &'static str| {
            move |_step: &str, field: Field| {
                Some(match field {
                    Field::Errors => Value::Number(errors),
                    Field::Status => Value::Text(status.into()),
                    Field::Output => Value::Text(output.into()),
                    _ => Value::Number(0.0),
                })
            }
        };
        assert!(cond.eval(&read(2.0, "succeeded", "")));
        assert!(!cond.eval(&read(0.0, "succeeded", "")));
        assert!(!cond.eval(&read(2.0, "failed", "")));
        assert!(cond.eval(&read(0.0, "failed", "an import cycle")));
        assert!(!cond.eval(&|_: &str, _: Field| None), "no result yet: false");
        assert!(Cond::parse("steps.r.errors >").is_err());
        assert!(Cond::parse("steps.r.errors > 1 and").is_err());
    }

    /// A project's workflow file is outside input (up to 256 KiB): a chain of
    /// steps, each with a condition, once took minutes to check (each step's
    /// ancestors were found by scanning every step).
    #[test]
    fn a_long_chain_of_conditional_steps_is_checked_quickly() {
        let mut text = String::new();
        for i in 0..2000 {
            text.push_str(&format!("[[steps]]\nid = \"s{i}\"\nagent = \"x\"\n"));
            if i > 0 {
                text.push_str(&format!("needs = [\"s{}\"]\nwhen = \"steps.s0.edits < 1\"\n", i - 1));
            }
        }
        let started = std::time::Instant::now();
        let flow = parse("chain.toml", "chain", &text).expect("valid");
        assert_eq!(flow.steps.len(), 2000);
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
    }
}
