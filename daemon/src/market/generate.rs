//! `agents/generate`: an agent made from a request (`agents::generate`),
//! written as a package folder, run through the QA pipeline for its
//! certification, then installed for the user or left ready to publish.

use std::{path::PathBuf, sync::Arc};

use jsonrpsee::types::ErrorObjectOwned;
use protocol::{
    agents::{GenerateParams, GeneratedAgent},
    errors,
};

use crate::state::Daemon;

fn error(code: i32, message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, message.into(), None::<()>)
}

pub fn generate(daemon: &Arc<Daemon>, params: GenerateParams) -> Result<GeneratedAgent, ErrorObjectOwned> {
    let generated = agents::generate::generate(&params.request).map_err(|why| error(errors::INVALID_PARAMS, why))?;
    let mut manifest = generated.manifest;
    super::check_name(&manifest.id)
        .map_err(|why| error(errors::INVALID_PARAMS, format!("{why}: choose a more specific specialization")))?;
    let folder = match &params.out_dir {
        Some(dir) => PathBuf::from(dir),
        None => daemon.paths.state_dir.join("generated").join(&manifest.id),
    };
    let io = |what: &str, err: std::io::Error| error(errors::INTERNAL, format!("{what}: {err}"));
    if params.out_dir.is_some() && folder.join("agent.toml").exists() {
        return Err(error(
            errors::CONFLICT,
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
    let write_manifest = |manifest: &protocol::agents::AgentManifest| -> Result<String, ErrorObjectOwned> {
        let text = toml::to_string(manifest)
            .map_err(|e| error(errors::INTERNAL, format!("cannot write the manifest: {e}")))?;
        std::fs::write(folder.join("agent.toml"), &text).map_err(|e| io("writing agent.toml", e))?;
        Ok(text)
    };
    write_manifest(&manifest)?;
    let report = super::registry::check(&folder).map_err(|err| error(errors::INTERNAL, format!("{err:#}")))?;
    let mut warnings = generated.warnings;
    warnings.extend(report.warnings.iter().cloned());
    manifest.certification = Some(report.certification);
    let text = write_manifest(&manifest)?;
    let installed = if params.install {
        let dir = daemon.paths.config_dir.join("agents");
        let file = dir.join(format!("{}.toml", manifest.id));
        if file.exists() {
            return Err(error(
                errors::CONFLICT,
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
    })
}
