use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// What went wrong talking to AWS, in words that name the operation.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// An API call failed: the operation, the service's error code and message.
    #[error("{operation} failed: {code}: {message}")]
    Api {
        operation: &'static str,
        code: String,
        message: String,
        /// The HTTP status of the answer (0 when there was none).
        status: u16,
    },
    /// The request got no answer (a dropped connection, a timeout): it may
    /// or may not have happened.
    #[error("{operation} failed: no answer from AWS: {message}")]
    Lost {
        operation: &'static str,
        message: String,
    },
    /// The endpoint does not offer the operation (an emulator's gap).
    #[error("{operation} is not supported by this endpoint ({message})")]
    NotImplemented {
        operation: &'static str,
        message: String,
    },
    /// A Kubernetes API request failed: what was asked, the server's words.
    #[error("{what}: {message} ({reason}, HTTP {code})")]
    Kube {
        what: String,
        code: u16,
        reason: String,
        message: String,
    },
    /// helm failed: what was asked, and what helm said.
    #[error("{what}: helm failed:\n{stderr}")]
    Helm { what: String, stderr: String },
    #[error("timed out waiting for {0}")]
    Timeout(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Spec(String),
    #[error("{0}")]
    Unexpected(String),
}

impl ProviderError {
    /// Wraps an SDK error with the operation's name.
    pub fn api<E>(
        operation: &'static str,
    ) -> impl FnOnce(SdkError<E, HttpResponse>) -> ProviderError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        move |e| {
            let status = match &e {
                SdkError::ServiceError(s) => Some(s.raw().status().as_u16()),
                SdkError::ResponseError(r) => Some(r.raw().status().as_u16()),
                _ => None,
            };
            if matches!(
                e,
                SdkError::DispatchFailure(_)
                    | SdkError::TimeoutError(_)
                    | SdkError::ResponseError(_)
            ) {
                return ProviderError::Lost {
                    operation,
                    message: aws_smithy_types::error::display::DisplayErrorContext(&e).to_string(),
                };
            }
            let code = e.code().map(String::from);
            let message = e.message().map(String::from).unwrap_or_else(|| {
                aws_smithy_types::error::display::DisplayErrorContext(&e).to_string()
            });
            let not_found = status == Some(404);
            match code {
                Some(code) => ProviderError::Api {
                    operation,
                    code,
                    message,
                    status: status.unwrap_or(0),
                },
                None if not_found => ProviderError::NotImplemented {
                    operation,
                    message: "HTTP 404".into(),
                },
                None => ProviderError::Api {
                    operation,
                    code: "Error".into(),
                    message,
                    status: status.unwrap_or(0),
                },
            }
        }
    }

    /// The AWS operation that failed, if this is about one.
    pub fn operation(&self) -> Option<&'static str> {
        match self {
            ProviderError::Api { operation, .. }
            | ProviderError::Lost { operation, .. }
            | ProviderError::NotImplemented { operation, .. } => Some(operation),
            _ => None,
        }
    }

    /// The service error code, if this is an API error.
    pub fn code(&self) -> Option<&str> {
        match self {
            ProviderError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// AWS asked to slow down: the request did not happen, and may be
    /// sent again after a pause.
    pub fn is_throttling(&self) -> bool {
        self.code().is_some_and(|c| {
            matches!(
                c,
                "Throttling"
                    | "ThrottlingException"
                    | "ThrottledException"
                    | "RequestLimitExceeded"
                    | "RequestThrottled"
                    | "RequestThrottledException"
                    | "TooManyRequestsException"
                    | "SlowDown"
                    | "ProvisionedThroughputExceededException"
            )
        })
    }

    /// The request may have happened although it failed: no answer came,
    /// AWS failed on its side (5xx), or it says that what was asked for
    /// exists already (a create sent again after its answer was lost).
    pub fn maybe_done(&self) -> bool {
        match self {
            ProviderError::Lost { .. } => true,
            ProviderError::Api { status, .. } => *status >= 500 || self.is_already_exists(),
            _ => false,
        }
    }

    /// AWS says that what was asked for exists already.
    pub fn is_already_exists(&self) -> bool {
        self.code().is_some_and(|code| {
            code.contains("AlreadyExists")
                || code.contains("Duplicate")
                || code == "BucketAlreadyOwnedByYou"
                || code == "ResourceInUseException"
                || code.ends_with("QueueNameExists")
        })
    }

    /// `Ok(None)` for an error saying the resource does not exist.
    pub fn absent_ok<T>(r: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The call was refused (no permission) or the endpoint does not serve
    /// it: asking again will not help, and nothing happened.
    pub fn is_refused(&self) -> bool {
        match self {
            ProviderError::NotImplemented { .. } => true,
            ProviderError::Api { code, status, .. } => {
                matches!(
                    code.as_str(),
                    "AccessDenied"
                        | "AccessDeniedException"
                        | "UnauthorizedOperation"
                        | "UnauthorizedAccess"
                        | "AuthorizationError"
                        | "UnknownOperationException"
                        | "InvalidAction"
                        | "NotImplemented"
                ) || *status == 501
                    // A 403 that says nothing else (an endpoint answering a
                    // JSON call in XML) is a refusal too, unless it is
                    // about the credentials themselves.
                    || (*status == 403
                        && !matches!(
                            code.as_str(),
                            "ExpiredToken"
                                | "ExpiredTokenException"
                                | "InvalidClientTokenId"
                                | "UnrecognizedClientException"
                                | "SignatureDoesNotMatch"
                                | "InvalidSignatureException"
                                | "AuthFailure"
                        ))
            }
            _ => false,
        }
    }

    /// The Kubernetes API server refused the call (RBAC: 403 Forbidden).
    pub fn is_forbidden(&self) -> bool {
        matches!(self, ProviderError::Kube { code: 403, .. })
    }

    pub fn is_not_found(&self) -> bool {
        self.code().is_some_and(|c| {
            c.contains("NotFound")
                || c == "NoSuchEntity"
                || c == "ResourceNotFoundException"
                || c == "NoSuchBucket"
                || c.contains("NonExistentQueue")
                || c == "QueueDoesNotExist"
        })
    }
}

/// What an AWS call's result becomes, in one step: the provider's error
/// naming the operation, with the answer dropped when nothing needs it.
pub trait AwsResult<T> {
    /// Done, the answer dropped; the error names `operation`.
    fn done(self, operation: &'static str) -> Result<(), ProviderError>;
    /// Done, or gone already (a delete of what someone else deleted).
    fn gone(self, operation: &'static str) -> Result<(), ProviderError>;
}

impl<T, E> AwsResult<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn done(self, operation: &'static str) -> Result<(), ProviderError> {
        self.map(|_| ()).map_err(ProviderError::api(operation))
    }

    fn gone(self, operation: &'static str) -> Result<(), ProviderError> {
        ProviderError::absent_ok(self.done(operation)).map(|_| ())
    }
}
