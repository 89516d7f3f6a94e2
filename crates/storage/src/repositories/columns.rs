//! Which columns a save writes: a source's row but the columns fixed at its creation, a
//! run's row but the queue's own. Both the transactional save (`sources`) and the
//! grouped one (`saves`) write exactly these.

use ctxd_domain::model::{Run, Source};
use sea_orm::{ActiveModelTrait, EntityTrait, IdenStatic, IntoActiveModel, Iterable};

use crate::{
    convert::{run_to, source_to},
    entities::{runs, sources},
};

/// A use case's rewrite of a source: every column but those fixed at its creation.
pub(super) fn source_update(source: &Source) -> sources::ActiveModel {
    all_set_but(source_to(source).into_active_model(), CREATED_ONLY)
}

/// A use case's rewrite of a run: every column but the lease, which belongs to the
/// queue.
pub(super) fn run_update(run: &Run) -> runs::ActiveModel {
    all_set_but(run_to(run).into_active_model(), QUEUE_OWNED)
}

/// `model` with every column to be written except `kept`.
fn all_set_but<A: ActiveModelTrait>(model: A, kept: impl IntoIterator<Item = <A::Entity as EntityTrait>::Column>) -> A {
    let mut model = model.reset_all();
    for column in kept {
        model.not_set(column);
    }
    model
}

/// A source's columns that are fixed when it is created: a save leaves them alone
/// (the input's JSON is the largest column, and it never changes).
const CREATED_ONLY: [sources::Column; 6] = [
    sources::Column::Id,
    sources::Column::UserId,
    sources::Column::SpaceId,
    sources::Column::Type,
    sources::Column::InitialData,
    sources::Column::CreatedAt,
];

/// The run columns that belong to the queue (the lease and when the run may start),
/// not to a use case's rewrite of a run.
const QUEUE_OWNED: [runs::Column; 3] =
    [runs::Column::LockedBy, runs::Column::LockedUntilMs, runs::Column::AvailableAtMs];

/// The source columns a save writes.
pub(super) fn written_source_columns() -> impl Iterator<Item = sources::Column> {
    columns_but(&CREATED_ONLY)
}

/// The run columns a use case's rewrite of a run writes (see [`run_update`]).
pub(super) fn rewritten_run_columns() -> impl Iterator<Item = runs::Column> {
    columns_but(&QUEUE_OWNED)
}

/// An entity's columns except `kept`, in declaration order.
fn columns_but<C: Iterable + IdenStatic>(kept: &'static [C]) -> impl Iterator<Item = C> {
    C::iter().filter(move |column| !kept.iter().any(|k| k.as_str() == column.as_str()))
}
