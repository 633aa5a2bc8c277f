//! `agents/generate`: an agent made from a request (`agents::generate`),
//! written as a package folder, run through the QA pipeline for its
//! certification, then installed for the user or left ready to publish.

use std::path::PathBuf;

use protocol::agents::{GenerateParams, GeneratedAgent};

use super::error::MarketError;
use crate::services::runs::Env;

fn error(kind: fn(String) -> MarketError, message: impl Into<String>) -> MarketError {
    kind(message.into())
}

pub async fn generate(env: &Env, params: GenerateParams) -> Result<GeneratedAgent, MarketError> {
    let generated = agents::generate::generate(&params.request).map_err(|why| error(MarketError::Invalid, why))?;
    let mut manifest = generated.manifest;
    let mut warnings = generated.warnings;
    let refined_by = refine(env, &mut manifest, &mut warnings).await;
    super::check_name(&manifest.id)
        .map_err(|why| error(MarketError::Invalid, format!("{why}: choose a more specific specialization")))?;
    let folder = match &params.out_dir {
        Some(dir) => PathBuf::from(dir),
        None => env.paths.state_dir.join("generated").join(&manifest.id),
    };
    let io = |what: &str, err: std::io::Error| error(MarketError::Internal, format!("{what}: {err}"));
    if params.out_dir.is_some() && folder.join("agent.toml").exists() {
        return Err(error(
            MarketError::Conflict,
            format!("{} already holds an agent; choose another folder", folder.display()),
        ));
    }
    std::fs::create_dir_all(&folder).map_err(|e| io(&format!("creating {}", folder.display()), e))?;
    if let Some((fixture, text, case)) = &generated.test_case {
        let fixture = folder.join(fixture);
        if let Some(parent) = fixture.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io("creating the fixtures folder", e))?;
        }
        std::fs::write(&fixture, text).map_err(|e| io("writing the fixture", e))?;
        std::fs::create_dir_all(folder.join("tests")).map_err(|e| io("creating tests/", e))?;
        std::fs::write(folder.join("tests/review.toml"), case).map_err(|e| io("writing the test case", e))?;
    }
    let write_manifest = |manifest: &protocol::agents::AgentManifest| -> Result<String, MarketError> {
        let text = toml::to_string(manifest)
            .map_err(|e| error(MarketError::Internal, format!("cannot write the manifest: {e}")))?;
        std::fs::write(folder.join("agent.toml"), &text).map_err(|e| io("writing agent.toml", e))?;
        Ok(text)
    };
    write_manifest(&manifest)?;
    let report = super::registry::check(&folder).map_err(|err| error(MarketError::Internal, format!("{err:#}")))?;
    warnings.extend(report.warnings.iter().cloned());
    manifest.certification = Some(report.certification);
    let text = write_manifest(&manifest)?;
    let installed = if params.install {
        let dir = env.paths.config_dir.join("agents");
        let file = dir.join(format!("{}.toml", manifest.id));
        if file.exists() {
            return Err(error(
                MarketError::Conflict,
                format!("{} exists already: remove it first, or generate into --out", file.display()),
            ));
        }
        std::fs::create_dir_all(&dir).map_err(|e| io(&format!("creating {}", dir.display()), e))?;
        std::fs::write(&file, &text).map_err(|e| io(&format!("writing {}", file.display()), e))?;
        Some(file.display().to_string())
    } else {
        None
    };
    Ok(GeneratedAgent {
        id: manifest.id,
        metadata: manifest.metadata,
        capabilities: manifest.capabilities,
        personality: manifest.personality,
        tools: manifest.tools,
        permissions: manifest.permissions,
        pricing: manifest.pricing,
        certification: manifest.certification,
        manifest: text,
        warnings,
        installed,
        folder: Some(folder.display().to_string()),
        refined_by,
    })
}

/// With a model configured, the template persona is rewritten by it (the
/// request only: no code is sent). Without one, or if it fails, the template
/// stays, with a warning saying why.
async fn refine(
    env: &Env,
    manifest: &mut protocol::agents::AgentManifest,
    warnings: &mut Vec<String>,
) -> Option<String> {
    let name = env.config.agents.provider.clone()?;
    let provider = match env.providers.get(&env.config, &name) {
        Ok(provider) => provider,
        Err(why) => {
            warnings.push(format!("the persona was not refined: {why}"));
            return None;
        }
    };
    let m = &*manifest;
    let ask = format!(
        "Agent: {} ({}). Domain: {}. Specialization: {}. Capabilities: {}. Tools: {}. Tone: {}.\n\nCurrent system prompt:\n{}\n\nWrite a better system prompt for this agent in at most six sentences: who it is, what it does, how it works with the user, what it must not do. Reply with the prompt only.",
        m.metadata.name,
        m.metadata.role,
        m.metadata.domain.as_deref().unwrap_or("any"),
        m.metadata.specialization.as_deref().unwrap_or(""),
        m.capabilities.join(", "),
        m.tools.join(", "),
        m.personality.tone.as_deref().unwrap_or(""),
        m.personality.system_prompt.join("\n")
    );
    let request = crate::services::provider::ChatRequest {
        system: "You write system prompts for PAIRED, a team of coding agents inside the user's editor.".to_owned(),
        messages: vec![crate::services::provider::Message::user(ask)],
        tools: Vec::new(),
        max_tokens: None,
    };
    match tokio::time::timeout(std::time::Duration::from_secs(60), provider.chat(&request, &mut |_| {})).await {
        Ok(Ok(answer)) if !answer.text.trim().is_empty() && answer.text.len() <= 4000 => {
            manifest.personality.system_prompt = vec![answer.text.trim().to_owned()];
            Some(name)
        }
        Ok(Ok(_)) => {
            warnings.push(format!("the persona was not refined: {name} gave an empty or overlong answer"));
            None
        }
        Ok(Err(err)) => {
            warnings.push(format!("the persona was not refined: {name}: {err}"));
            None
        }
        Err(_) => {
            warnings.push(format!("the persona was not refined: {name} did not answer within 60 s"));
            None
        }
    }
}
