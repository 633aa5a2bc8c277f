//! Conversations with the team (`chat/*`): each message goes to the agent it
//! names, or that its command names, or that Alex's routing picks, as a run of
//! the runs service; the conversation and its turns are rows in SQLite, so any
//! editor (and `paired sessions`) sees them and can go on with them, also after
//! a restart.

use std::sync::Arc;

use protocol::{
    agents::RunParams,
    chat::{ChatTurn, Conversation, ConversationSummary, ListParams, SendParams, TurnRecord},
};
use rusqlite::{OptionalExtension, params};

use crate::{
    platform::{clock, store::Store, uri},
    services::runs::{RunError, Runs},
};

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("the conversation store: {0:#}")]
    Store(anyhow::Error),
}

/// The chat's commands: (command, agent, skill, what the agent is asked before the text).
const COMMANDS: [(&str, &str, Option<&str>, &str); 5] = [
    ("review", "sherlock", Some("review"), ""),
    ("tests", "edison", Some("tests"), ""),
    ("docs", "edison", Some("document"), ""),
    ("plan", "alex", None, "Plan this, step by step: "),
    ("explain", "alex", None, "Explain this code: "),
];

/// How long a conversation's title (its first message) may be.
const TITLE_CHARS: usize = 80;

pub struct Chat {
    runs: Arc<Runs>,
    store: Store,
}

impl Chat {
    pub fn new(runs: Arc<Runs>, store: Store) -> Chat {
        Chat { runs, store }
    }

    /// A message: the agent that takes it starts a run; the turn is recorded.
    pub async fn send(&self, params: SendParams, owner: String) -> Result<ChatTurn, ChatError> {
        let (agent, skill, prompt) = self.choose(&params)?;
        let conversation = match &params.conversation {
            Some(id) => {
                self.summary(id).await?;
                id.clone()
            }
            None => clock::new_id("chat"),
        };
        let run_params = RunParams {
            agent: agent.clone(),
            skill: skill.clone(),
            uri: params.uri.clone(),
            position: None,
            range: params.range,
            prompt: Some(prompt).filter(|p| !p.trim().is_empty()),
            workspace: params.project.clone(),
            wait: false,
            max_tokens: None,
        };
        let run = self.runs.run_for(run_params, owner).await?;
        // A command alone ("/review") is the message as the user sent it.
        let said = match (params.text.trim(), &params.command) {
            ("", Some(command)) => format!("/{command}"),
            (text, _) => text.to_owned(),
        };
        let (id, text, project) = (conversation.clone(), said, params.project.clone());
        let (run_id, agent_id, skill_name) = (run.id.clone(), agent.clone(), skill.clone());
        let now = clock::now_ms() as i64;
        let turn = self
            .store
            .call(move |db| {
                let tx = db.transaction()?;
                tx.execute(
                    "INSERT INTO conversations (id, title, project, created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?4)
                     ON CONFLICT(id) DO UPDATE SET updated_ms = ?4",
                    params![id, title(&text), project, now],
                )?;
                let turn: u32 = tx.query_row(
                    "SELECT COALESCE(MAX(turn), 0) + 1 FROM conversation_turns WHERE conversation = ?1",
                    params![id],
                    |row| row.get(0),
                )?;
                tx.execute(
                    "INSERT INTO conversation_turns (conversation, turn, text, agent, skill, run_id, created_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![id, turn, text, agent_id, skill_name, run_id, now],
                )?;
                tx.commit()?;
                Ok(turn)
            })
            .await
            .map_err(ChatError::Store)?;
        Ok(ChatTurn { conversation, turn, agent, skill, run })
    }

    /// The agent, skill and prompt for a message: see the module docs.
    fn choose(&self, params: &SendParams) -> Result<(String, Option<String>, String), ChatError> {
        let project = params.project.as_deref().and_then(uri::to_path);
        let roster = self.runs.roster(project.as_deref());
        let mut text = params.text.trim().to_owned();
        let mut named = params.agent.clone();
        if named.is_none()
            && let Some(rest) = text.strip_prefix('@')
        {
            let (name, after) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            if roster.resolve(name.trim_end_matches([',', ':'])).is_some() {
                named = Some(name.trim_end_matches([',', ':']).to_owned());
                text = after.trim().to_owned();
            }
        }
        let command = match params.command.as_deref() {
            Some(name) => Some(COMMANDS.iter().find(|c| c.0 == name).ok_or_else(|| {
                let known: Vec<&str> = COMMANDS.iter().map(|c| c.0).collect();
                ChatError::Invalid(format!("no chat command /{name}; the commands: /{}", known.join(", /")))
            })?),
            None => None,
        };
        if text.is_empty() && command.is_none() {
            return Err(ChatError::Invalid("the message is empty: say what you need, or use a command".into()));
        }
        let (agent, skill) = match (&named, command) {
            (Some(name), _) => {
                let agent = roster
                    .resolve(name)
                    .ok_or_else(|| ChatError::NotFound(format!("no agent named {name:?} in this project's team")))?;
                // The command's skill, if this agent has it.
                let skill = command.and_then(|c| c.2).filter(|s| agent.skills.iter().any(|k| k.name() == *s));
                (agent.manifest.id.clone(), skill.map(str::to_owned))
            }
            (None, Some((_, agent, skill, _))) => ((*agent).to_owned(), skill.map(str::to_owned)),
            (None, None) => match agents::skills::route::route(&text).into_iter().next() {
                Some((agent, skill)) => (agent, Some(skill)),
                None => ("alex".to_owned(), None),
            },
        };
        let mut prompt = format!("{}{text}", command.map_or("", |c| c.3));
        if !params.problems.is_empty() {
            prompt.push_str("\n\nProblems in the file:");
            for p in &params.problems {
                let source = p.source.as_deref().map(|s| format!(" ({s})")).unwrap_or_default();
                prompt.push_str(&format!("\n- line {}: {}: {}{source}", p.line + 1, p.severity, p.message));
            }
        }
        Ok((agent, skill, prompt))
    }

    pub async fn list(&self, params: ListParams) -> Result<Vec<ConversationSummary>, ChatError> {
        let limit = params.limit.unwrap_or(50).clamp(1, 1000);
        self.store
            .call(move |db| {
                let mut statement = db.prepare(
                    "SELECT c.id, c.title, c.project, c.created_ms, c.updated_ms,
                            (SELECT COUNT(*) FROM conversation_turns t WHERE t.conversation = c.id)
                     FROM conversations c WHERE ?1 IS NULL OR c.project = ?1
                     ORDER BY c.updated_ms DESC LIMIT ?2",
                )?;
                let rows = statement.query_map(params![params.project, limit], summary_row)?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
            })
            .await
            .map_err(ChatError::Store)
    }

    async fn summary(&self, id: &str) -> Result<ConversationSummary, ChatError> {
        let key = id.to_owned();
        let found = self
            .store
            .call(move |db| {
                db.query_row(
                    "SELECT c.id, c.title, c.project, c.created_ms, c.updated_ms,
                            (SELECT COUNT(*) FROM conversation_turns t WHERE t.conversation = c.id)
                     FROM conversations c WHERE c.id = ?1",
                    params![key],
                    summary_row,
                )
                .optional()
            })
            .await
            .map_err(ChatError::Store)?;
        found.ok_or_else(|| ChatError::NotFound(format!("no conversation {id}; `chat/list` has them")))
    }

    /// A conversation with its turns, each with its run as it is now.
    pub async fn get(&self, id: &str) -> Result<Conversation, ChatError> {
        let summary = self.summary(id).await?;
        let key = id.to_owned();
        let rows: Vec<(u32, String, String, Option<String>, String)> = self
            .store
            .call(move |db| {
                let mut statement = db.prepare(
                    "SELECT turn, text, agent, skill, run_id FROM conversation_turns
                     WHERE conversation = ?1 ORDER BY turn",
                )?;
                let rows = statement
                    .query_map(params![key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
            })
            .await
            .map_err(ChatError::Store)?;
        let mut turns = Vec::with_capacity(rows.len());
        for (turn, text, agent, skill, run_id) in rows {
            let run = self.runs.get(&run_id).await.ok();
            turns.push(TurnRecord { turn, text, agent, skill, run });
        }
        Ok(Conversation { summary, turns })
    }
}

fn summary_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ConversationSummary> {
    Ok(ConversationSummary {
        id: row.get(0)?,
        title: row.get(1)?,
        project: row.get(2)?,
        created_ms: row.get(3)?,
        updated_ms: row.get(4)?,
        turns: row.get(5)?,
    })
}

/// A conversation's title: its first message, on one line, shortened.
fn title(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= TITLE_CHARS {
        return line;
    }
    let cut: String = line.chars().take(TITLE_CHARS - 1).collect();
    format!("{}…", cut.trim_end())
}
