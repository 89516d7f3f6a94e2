//! Read use cases over what processing produced: runs, revisions, contexts and the
//! stored content of each revision.

use super::Ports;
use crate::{
    Error, Result,
    ids::{ArtifactId, RunId, SourceId, SpaceId},
    model::{
        Artifact, ArtifactChanges, ArtifactQuery, Context, Page, PageRequest, Postback, Revision, Run, Source, User,
    },
};

/// Which form of a revision's content to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentFormat {
    /// The normalized markdown.
    Markdown,
    /// The bytes as fetched, with their original content type.
    Raw,
}

/// A revision's content ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub bytes: Vec<u8>,
    pub content_type: String,
}

/// The difference between two revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionDiff {
    pub from: u32,
    pub to: u32,
    /// Unified diff of the normalized markdown (`from` → `to`).
    pub unified: String,
    /// Whether the markdown differs at all.
    pub changed: bool,
    /// Artifacts found in `to` and not in `from`, and the other way round.
    pub artifacts: ArtifactChanges,
}

/// A revision as listed: its metadata, and whether its content is still kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedRevision {
    pub revision: Revision,
    /// False once retention removed the content (`revisions.retain`); the metadata
    /// stays, and the content endpoints answer 410.
    pub content_available: bool,
}

#[derive(Debug, Clone)]
pub struct OutputService {
    ports: Ports,
    /// How many of a source's latest revisions keep their content.
    retain: u32,
}

impl OutputService {
    pub fn new(ports: Ports, retain: u32) -> Self {
        Self { ports, retain: retain.max(1) }
    }

    /// Whether retention has removed revision `number`'s content, with `current` the
    /// source's current revision.
    fn pruned(&self, number: u32, current: Option<u32>) -> bool {
        current.is_some_and(|current| number.saturating_add(self.retain) <= current)
    }

    /// The error for content retention removed: a 410 naming the setting.
    fn gone(&self, number: u32) -> Error {
        Error::Gone(format!(
            "the content of revision {number} is no longer kept: revisions.retain keeps the content of a source's \
             last {} revisions",
            self.retain
        ))
    }

    async fn visible_source(&self, user: &User, id: SourceId) -> Result<Source> {
        match self.ports.sources.get(user.id, id).await? {
            Some(source) if !source.is_deleted() => Ok(source),
            _ => Err(Error::NotFound("source")),
        }
    }

    /// # Errors
    /// [`Error::NotFound`] for an unknown source.
    pub async fn runs(&self, user: &User, id: SourceId, page: PageRequest) -> Result<Page<Run>> {
        self.visible_source(user, id).await?;
        self.ports.runs.list_for_source(id, page).await
    }

    /// The source's postback deliveries, newest first: each notification with its
    /// attempts, the receiver's last answer and when it is tried next.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown source.
    pub async fn postbacks(&self, user: &User, id: SourceId, page: PageRequest) -> Result<Page<Postback>> {
        self.visible_source(user, id).await?;
        self.ports.postbacks.list_for_source(id, page).await
    }

    /// # Errors
    /// [`Error::NotFound`] for an unknown run (or one of someone else's).
    pub async fn run(&self, user: &User, id: RunId) -> Result<Run> {
        self.ports.runs.get(user.id, id).await?.ok_or(Error::NotFound("run"))
    }

    /// # Errors
    /// [`Error::NotFound`] for an unknown source.
    pub async fn revisions(&self, user: &User, id: SourceId, page: PageRequest) -> Result<Page<ListedRevision>> {
        let source = self.visible_source(user, id).await?;
        let page = self.ports.revisions.list(id, page).await?;
        Ok(page.map(|revision| self.listed(revision, source.revision)))
    }

    fn listed(&self, revision: Revision, current: Option<u32>) -> ListedRevision {
        let content_available = !self.pruned(revision.number, current);
        ListedRevision { revision, content_available }
    }

    /// # Errors
    /// [`Error::NotFound`] for an unknown source or revision.
    pub async fn revision(&self, user: &User, id: SourceId, number: u32) -> Result<ListedRevision> {
        let source = self.visible_source(user, id).await?;
        let revision = self.ports.revisions.get(id, number).await?.ok_or(Error::NotFound("revision"))?;
        Ok(self.listed(revision, source.revision))
    }

    /// The context of `revision`; without one, the context served now: the current
    /// revision's, or the newest earlier one when the runs since skipped extraction.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown source or revision, or when no context was
    /// extracted for it (yet, or because extraction was turned off);
    /// [`Error::Gone`] when retention removed it with the revision's content.
    pub async fn context(&self, user: &User, id: SourceId, revision: Option<u32>) -> Result<Context> {
        let source = self.visible_source(user, id).await?;
        let context = match (revision, source.revision) {
            (Some(number), current) => {
                let context = self.ports.revisions.context(id, number).await?;
                // Retention took the outputs of a pruned revision with its content.
                if context.is_none() && self.pruned(number, current) {
                    return Err(self.gone(number));
                }
                context
            }
            // A run that skipped context extraction leaves the previous context served
            // (and the source's token counts describe it).
            (None, Some(current)) => self.ports.revisions.latest_context(id, current).await?,
            (None, None) => None,
        };
        context.ok_or(Error::NotFound("context"))
    }

    /// A unified diff of revision `against` (default `number - 1`) to `number`.
    ///
    /// # Errors
    /// [`Error::Validation`] when there is nothing to compare against;
    /// [`Error::NotFound`] for unknown revisions; [`Error::Gone`] for content
    /// retention removed.
    pub async fn diff(&self, user: &User, id: SourceId, number: u32, against: Option<u32>) -> Result<RevisionDiff> {
        self.visible_source(user, id).await?;
        let against = match against {
            Some(against) => against,
            None if number > 1 => number - 1,
            None => return Err(Error::invalid("against", "revision 1 has no previous revision; give ?against=")),
        };
        let from = self.markdown(id, against).await?;
        let to = self.markdown(id, number).await?;
        let diff = similar::TextDiff::from_lines(&from, &to);
        let unified = diff
            .unified_diff()
            .context_radius(3)
            .header(&format!("revision {against}"), &format!("revision {number}"))
            .to_string();
        let before = self.ports.artifacts.for_revision(id, against).await?;
        let after = self.ports.artifacts.for_revision(id, number).await?;
        let artifacts = ArtifactChanges::between(&before, &after);
        Ok(RevisionDiff { from: against, to: number, changed: from != to, unified, artifacts })
    }

    /// The source's current artifacts, or those found in `revision`.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown source or revision; [`Error::Gone`] when
    /// retention removed the revision's artifacts with its content.
    pub async fn artifacts(
        &self,
        user: &User,
        id: SourceId,
        revision: Option<u32>,
        page: PageRequest,
    ) -> Result<Page<Artifact>> {
        let source = self.visible_source(user, id).await?;
        if let Some(number) = revision {
            self.ports.revisions.get(id, number).await?.ok_or(Error::NotFound("revision"))?;
        }
        let found = self.ports.artifacts.list_for_source(id, revision, page).await?;
        // A pruned revision's artifacts went with its content, except those still
        // current (a later run skipped artifact extraction).
        match revision {
            Some(number) if found.total == 0 && self.pruned(number, source.revision) => Err(self.gone(number)),
            _ => Ok(found),
        }
    }

    /// # Errors
    /// [`Error::NotFound`] for an unknown artifact, someone else's, or one of a deleted source.
    pub async fn artifact(&self, user: &User, id: ArtifactId) -> Result<Artifact> {
        self.ports.artifacts.get(user.id, id).await?.ok_or(Error::NotFound("artifact"))
    }

    /// The current artifacts of the space's sources that match `query`.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown space (or someone else's).
    pub async fn search_artifacts(
        &self,
        user: &User,
        space: SpaceId,
        query: &ArtifactQuery,
        page: PageRequest,
    ) -> Result<Page<Artifact>> {
        self.ports.spaces.get(user.id, space).await?.ok_or(Error::NotFound("space"))?;
        self.ports.artifacts.search(space, query, page).await
    }

    async fn markdown(&self, id: SourceId, number: u32) -> Result<String> {
        self.ports.revisions.get(id, number).await?.ok_or(Error::NotFound("revision"))?;
        let bytes =
            self.ports.blobs.get(&Revision::markdown_key(id, number)).await?.ok_or_else(|| self.gone(number))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The stored content of `revision`, or of the current revision.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown source or revision; [`Error::Gone`] when
    /// retention removed the revision's content.
    pub async fn content(
        &self,
        user: &User,
        id: SourceId,
        revision: Option<u32>,
        format: ContentFormat,
    ) -> Result<Content> {
        let source = self.visible_source(user, id).await?;
        let number = revision.or(source.revision).ok_or(Error::NotFound("content"))?;
        let stored = self.ports.revisions.get(id, number).await?.ok_or(Error::NotFound("revision"))?;
        let (key, content_type) = match format {
            ContentFormat::Markdown => (Revision::markdown_key(id, number), "text/markdown; charset=utf-8".to_owned()),
            ContentFormat::Raw => (
                Revision::raw_key(id, number),
                stored.http.content_type.clone().unwrap_or_else(|| "application/octet-stream".into()),
            ),
        };
        // A revision whose blob is missing had its content removed by retention.
        let bytes = self.ports.blobs.get(&key).await?.ok_or_else(|| self.gone(number))?;
        Ok(Content { bytes, content_type })
    }
}
