//! The one place where services' errors become JSON-RPC error objects: each
//! kind of refusal gets its protocol code (`protocol::errors`) here, at the
//! server's edge, and nowhere else. (The CLI says the same errors in its own
//! words; the LSP and ACP fronts in theirs.)

use jsonrpsee::types::ErrorObjectOwned;
use protocol::errors;

use crate::services::{
    chat::ChatError,
    codebase,
    completion::CompletionError,
    market::error::MarketError,
    orchestrator::WorkflowError,
    runs::{MissingData, RunError},
};

fn object(code: i32, message: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, message.to_string(), None::<()>)
}

impl From<codebase::Error> for ErrorObjectOwned {
    fn from(err: codebase::Error) -> ErrorObjectOwned {
        let code = match &err {
            codebase::Error::Refused(_) => errors::REFUSED,
            codebase::Error::NotFound(_) => errors::NOT_FOUND,
            codebase::Error::Invalid(_) => errors::INVALID_PARAMS,
        };
        object(code, err)
    }
}

impl From<ChatError> for ErrorObjectOwned {
    fn from(err: ChatError) -> ErrorObjectOwned {
        let code = match err {
            ChatError::Run(inner) => return inner.into(),
            ChatError::NotFound(_) => errors::NOT_FOUND,
            ChatError::Invalid(_) => errors::INVALID_PARAMS,
            ChatError::Store(_) => errors::INTERNAL,
        };
        object(code, err)
    }
}

impl From<CompletionError> for ErrorObjectOwned {
    fn from(err: CompletionError) -> ErrorObjectOwned {
        let code = match err {
            CompletionError::Code(inner) => return inner.into(),
            CompletionError::Cancelled => errors::REQUEST_CANCELLED,
            CompletionError::Unavailable(_) | CompletionError::Provider(_) | CompletionError::Timeout(_) => {
                errors::MODEL_UNAVAILABLE
            }
        };
        object(code, err)
    }
}

impl From<RunError> for ErrorObjectOwned {
    fn from(err: RunError) -> ErrorObjectOwned {
        let err = match err {
            RunError::Codebase(inner) => return inner.into(),
            other => other,
        };
        let code = match &err {
            RunError::NotFound(_) => errors::NOT_FOUND,
            RunError::Refused(_) => errors::REFUSED,
            // What is missing travels as data, for the fronts to say in their words.
            RunError::Missing { missing, message } => {
                return ErrorObjectOwned::owned(
                    errors::INVALID_PARAMS,
                    message,
                    Some(MissingData { missing: *missing }),
                );
            }
            RunError::Invalid(_) => errors::INVALID_PARAMS,
            RunError::Busy(_) => errors::LIMIT_EXCEEDED,
            RunError::NeedsLicence(_) => errors::NEEDS_LICENCE,
            RunError::Internal(_) => errors::INTERNAL,
            RunError::ShuttingDown => errors::DAEMON_UNAVAILABLE,
            RunError::Codebase(_) => errors::INTERNAL,
        };
        object(code, err)
    }
}

impl From<WorkflowError> for ErrorObjectOwned {
    fn from(err: WorkflowError) -> ErrorObjectOwned {
        let code = match &err {
            WorkflowError::NotFound(_) => errors::NOT_FOUND,
            WorkflowError::Invalid(_) => errors::INVALID_PARAMS,
            WorkflowError::Refused(_) => errors::REFUSED,
            WorkflowError::Missing { missing, message } => {
                return ErrorObjectOwned::owned(
                    errors::INVALID_PARAMS,
                    message,
                    Some(MissingData { missing: *missing }),
                );
            }
            WorkflowError::Busy(_) => errors::LIMIT_EXCEEDED,
            WorkflowError::Conflict(_) => errors::CONFLICT,
            WorkflowError::Internal(_) => errors::INTERNAL,
            WorkflowError::ShuttingDown => errors::DAEMON_UNAVAILABLE,
        };
        object(code, err)
    }
}

impl From<MarketError> for ErrorObjectOwned {
    fn from(err: MarketError) -> ErrorObjectOwned {
        let code = match &err {
            MarketError::NotFound(_) => errors::NOT_FOUND,
            MarketError::Invalid(_) => errors::INVALID_PARAMS,
            MarketError::Verification(_) => errors::VERIFICATION_FAILED,
            MarketError::Conflict(_) => errors::CONFLICT,
            MarketError::Refused(_) => errors::REFUSED,
            MarketError::Limit(_) => errors::LIMIT_EXCEEDED,
            MarketError::NeedsLicence(_) => errors::NEEDS_LICENCE,
            // What to show the user travels as data.
            MarketError::NeedsConsent { message, data } => {
                return ErrorObjectOwned::owned(errors::NEEDS_CONSENT, message, Some(data));
            }
            MarketError::Internal(_) => errors::INTERNAL,
        };
        object(code, err)
    }
}
