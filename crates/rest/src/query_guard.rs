//! One rule for query strings on every documented route: a parameter the route does
//! not declare is a 400 naming it, as an unknown JSON field is. The declared
//! parameters are read from the OpenAPI document the handlers generate, so a new route
//! (or parameter) is covered without anyone remembering to list it.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use axum::{
    extract::{MatchedPath, Request, State},
    http::Method,
    middleware::Next,
    response::{IntoResponse, Response},
};
use ctxd_domain::{Error, FieldError};
use utoipa::openapi::{OpenApi, RefOr, path::ParameterIn};

use crate::error::ApiError;

/// The query parameters each (method, route template) declares.
#[derive(Debug, Default)]
pub struct DeclaredQueries(HashMap<(Method, String), HashSet<String>>);

impl DeclaredQueries {
    pub fn from_openapi(doc: &OpenApi) -> Self {
        let mut declared = HashMap::new();
        for (path, item) in &doc.paths.paths {
            let operations = [
                (Method::GET, &item.get),
                (Method::PUT, &item.put),
                (Method::POST, &item.post),
                (Method::DELETE, &item.delete),
                (Method::PATCH, &item.patch),
            ];
            for (method, operation) in operations {
                let Some(operation) = operation else { continue };
                let names = item
                    .parameters
                    .iter()
                    .chain(operation.parameters.iter())
                    .flatten()
                    .filter_map(|p| match p {
                        RefOr::T(parameter) if parameter.parameter_in == ParameterIn::Query => {
                            Some(parameter.name.clone())
                        }
                        _ => None,
                    })
                    .collect();
                declared.insert((method, path.clone()), names);
            }
        }
        Self(declared)
    }

    /// The first parameter of `query` that `method` on `route` does not declare;
    /// `None` for routes outside the document (the docs page, metrics).
    fn undeclared(&self, method: &Method, route: &str, query: &str) -> Option<String> {
        let method = if method == Method::HEAD { Method::GET } else { method.clone() };
        let declared = self.0.get(&(method, route.to_owned()))?;
        form_urlencoded::parse(query.as_bytes())
            .map(|(name, _)| name.into_owned())
            .find(|name| !declared.contains(name))
    }
}

/// Refuses a request whose query names a parameter its route does not declare.
pub async fn middleware(State(declared): State<Arc<DeclaredQueries>>, request: Request, next: Next) -> Response {
    if let (Some(route), Some(query)) = (request.extensions().get::<MatchedPath>(), request.uri().query())
        && let Some(name) = declared.undeclared(request.method(), route.as_str(), query)
    {
        let detail = FieldError::new(name, "is not a parameter of this route");
        return ApiError::from(Error::invalid_fields(vec![detail])).into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_parameters_come_from_the_document() {
        let declared = DeclaredQueries::from_openapi(&crate::openapi());
        let list = "/v1/spaces/{spaceId}/sources";
        assert_eq!(declared.undeclared(&Method::GET, list, "page=2&status=COMPLETED&type=URI"), None);
        assert_eq!(declared.undeclared(&Method::GET, list, "page=2&sort=name"), Some("sort".into()));
        assert_eq!(declared.undeclared(&Method::GET, "/v1/spaces/{spaceId}", "x=1"), Some("x".into()));
        assert_eq!(declared.undeclared(&Method::GET, "/v1/spaces", "per_page=5"), None);
        assert_eq!(declared.undeclared(&Method::GET, "/metrics", "anything=1"), None, "outside the document");
    }
}
