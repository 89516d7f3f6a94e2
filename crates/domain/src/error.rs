//! The domain's one error type and the transport-neutral kind every adapter maps once.

use std::fmt;

/// Shorthand used across the domain.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One invalid field of a request, reported back to the caller.
///
/// `field` is a dotted path into the request body (`initial_data.url`) or the name of
/// a path/query parameter (`sourceId`, `per_page`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// What kind of failure an [`Error`] is. REST maps it to an HTTP status and gRPC to a
/// status code, each in exactly one `match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    InvalidInput,
    Unauthenticated,
    Forbidden,
    NotFound,
    /// The resource existed and is gone for good (content retention removed it).
    Gone,
    Conflict,
    PayloadTooLarge,
    /// Over the plan's rate limit; the error carries when to retry.
    RateLimited,
    Unavailable,
    Internal,
}

/// Everything a use case can fail with.
///
/// Messages are written for the API caller: they never contain SQL, paths or other
/// internals. `Unavailable` and `Internal` carry their cause for the log only.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed; one entry per bad field.
    #[error("{message}")]
    Validation { message: String, details: Vec<FieldError> },
    /// Missing, unknown, expired or revoked API key.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// A credential other than an API key (an upload URL's signature) is invalid or
    /// expired.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The resource does not exist, is soft-deleted, or belongs to someone else.
    /// The three are deliberately indistinguishable.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The resource existed but its data was removed on purpose; the message says
    /// which setting did it.
    #[error("{0}")]
    Gone(String),
    /// The action is not allowed in the resource's current state.
    #[error("{0}")]
    Conflict(String),
    /// The request body or a declared size is over a configured limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The user's plan allows no more requests now; the decision says when it will
    /// and what to report (`Retry-After`, `X-RateLimit-*`).
    #[error("{}", .0.refusal())]
    RateLimited(crate::services::rate_limits::Decision),
    /// A dependency (database, object store) cannot be reached.
    #[error("service unavailable")]
    Unavailable(#[source] BoxError),
    /// A bug or an unexpected state of a dependency.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

/// The boxed cause carried by infrastructure errors.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Validation { .. } => ErrorKind::InvalidInput,
            Error::Unauthenticated(_) => ErrorKind::Unauthenticated,
            Error::Forbidden(_) => ErrorKind::Forbidden,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Gone(_) => ErrorKind::Gone,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::PayloadTooLarge(_) => ErrorKind::PayloadTooLarge,
            Error::RateLimited(_) => ErrorKind::RateLimited,
            Error::Unavailable(_) => ErrorKind::Unavailable,
            Error::Internal(_) => ErrorKind::Internal,
        }
    }

    /// A validation error about a single field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let detail = FieldError::new(field, message);
        Error::Validation { message: "The request contains invalid parameters".into(), details: vec![detail] }
    }

    /// A validation error from collected field errors.
    pub fn invalid_fields(details: Vec<FieldError>) -> Self {
        Error::Validation { message: "The request contains invalid parameters".into(), details }
    }

    /// An unexpected failure; the message is for logs, the caller sees "internal error".
    pub fn internal(cause: impl fmt::Display) -> Self {
        Error::Internal(cause.to_string().into())
    }

    /// What a transport tells the caller: the same sentence over REST and gRPC.
    /// Infrastructure failures get a fixed sentence (their cause is for the log).
    pub fn public_message(&self) -> String {
        match self {
            Error::Internal(_) => "An unexpected error occurred on the server".to_owned(),
            Error::Unavailable(_) => "A dependency of the service is unavailable; retry later".to_owned(),
            Error::NotFound(what) => format!("The requested {what} was not found"),
            Error::Unauthenticated(reason) => format!("Authentication required. {reason}"),
            other => other.to_string(),
        }
    }

    /// Field errors, when this is a validation error.
    pub fn details(&self) -> &[FieldError] {
        match self {
            Error::Validation { details, .. } => details,
            _ => &[],
        }
    }
}

/// Collects field errors while validating a whole request, so the caller learns
/// about every bad field at once rather than one per round trip.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldError>);

impl Violations {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// Records the error of `result` (if any) and returns its value.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(error);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The recorded field errors, in order.
    pub fn into_details(self) -> Vec<FieldError> {
        self.0
    }

    /// `Ok(())` when nothing was recorded, else one validation error listing all.
    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() { Ok(()) } else { Err(Error::invalid_fields(self.0)) }
    }
}
