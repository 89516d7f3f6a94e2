//! `SourcesService.WatchSource`: the domain's watch of one source as a gRPC stream.

use std::pin::Pin;

use ctxd_domain::{ids::SourceId, model::User, services::UseCases};
use futures_util::StreamExt;
use tokio_stream::Stream;
use tokio_util::sync::CancellationToken;
use tonic::Status;

use crate::{convert, pb};

pub type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::Source, Status>> + Send>>;

/// Starts a watch; NOT_FOUND (and the like) are answered before the stream opens.
///
/// # Errors
/// The status of reading the source the first time.
pub async fn watch(
    use_cases: UseCases,
    user: User,
    id: SourceId,
    follow: bool,
    stopping: CancellationToken,
) -> Result<WatchStream, Status> {
    let watch = use_cases.sources.watch(&user, id, follow, None).await.map_err(convert::status)?;
    let states = watch.unwrap_or_else(|| futures_util::stream::empty().boxed());
    let states = states.map(|state| state.map(convert::source).map_err(convert::status));
    Ok(Box::pin(states.take_until(stopping.cancelled_owned())))
}
