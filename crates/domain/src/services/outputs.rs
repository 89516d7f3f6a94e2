//! Read use cases over what processing produced: runs, revisions, contexts and the
//! stored content of each revision.

use super::Ports;
use crate::{
    Error, Result,
    ids::{ArtifactId, RunId, SourceId, SpaceId},
    model::{Artifact, ArtifactChanges, ArtifactQuery, Context, Page, PageRequest, Revision, Run, Source, User},
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

#[derive(Debug, Clone)]
pub struct OutputService {
    ports: Ports,
}

impl OutputService {
    pub fn new(ports: Ports) -> Self {
        Self { ports }
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

    /// # Errors
    /// [`Error::NotFound`] for an unknown run (or one of someone else's).
    pub async fn run(&self, user: &User, id: RunId) -> Result<Run> {
        self.ports.runs.get(user.id, id).await?.ok_or(Error::NotFound("run"))
    }

    /// # Errors
    /// [`Error::NotFound`] for an unknown source.
    pub async fn revisions(&self, user: &User, id: SourceId, page: PageRequest) -> Result<Page<Revision>> {
        self.visible_source(user, id).await?;
        self.ports.revisions.list(id, page).await
    }

    /// # Errors
    /// [`Error::NotFound`] for an unknown source or revision.
    pub async fn revision(&self, user: &User, id: SourceId, number: u32) -> Result<Revision> {
        self.visible_source(user, id).await?;
        self.ports.revisions.get(id, number).await?.ok_or(Error::NotFound("revision"))
    }

    /// The context of `revision`, or of the current revision.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown source or revision, or when no context was
    /// extracted for it (yet, or because extraction was turned off).
    pub async fn context(&self, user: &User, id: SourceId, revision: Option<u32>) -> Result<Context> {
        let source = self.visible_source(user, id).await?;
        let number = revision.or(source.revision).ok_or(Error::NotFound("context"))?;
        self.ports.revisions.context(id, number).await?.ok_or(Error::NotFound("context"))
    }

    /// A unified diff of revision `against` (default `number - 1`) to `number`.
    ///
    /// # Errors
    /// [`Error::Validation`] when there is nothing to compare against;
    /// [`Error::NotFound`] for unknown revisions or content no longer retained.
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
    /// [`Error::NotFound`] for an unknown source or revision.
    pub async fn artifacts(
        &self,
        user: &User,
        id: SourceId,
        revision: Option<u32>,
        page: PageRequest,
    ) -> Result<Page<Artifact>> {
        self.visible_source(user, id).await?;
        if let Some(number) = revision {
            self.ports.revisions.get(id, number).await?.ok_or(Error::NotFound("revision"))?;
        }
        self.ports.artifacts.list_for_source(id, revision, page).await
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
            self.ports.blobs.get(&Revision::markdown_key(id, number)).await?.ok_or(Error::NotFound("content"))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The stored content of `revision`, or of the current revision.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown source or revision, or when the revision's
    /// content is no longer retained.
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
        let bytes = self.ports.blobs.get(&key).await?.ok_or(Error::NotFound("content"))?;
        Ok(Content { bytes, content_type })
    }
}
