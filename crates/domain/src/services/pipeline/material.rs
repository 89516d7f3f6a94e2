//! The bytes a run works on: inline content, a conditional fetch, a conditional read of
//! an uploaded object, or the stored bytes of the current revision.

use super::*;

/// Fetched material, before it becomes a revision.
pub(super) struct Material {
    pub(super) bytes: Vec<u8>,
    pub(super) http: HttpMeta,
    /// Set when the fetcher hashed the bytes as they streamed in.
    pub(super) content_hash: Option<String>,
}

impl Pipeline {
    /// The bytes this run works on; `None` means "unchanged at the origin" (304).
    pub(super) async fn material(
        &self,
        run: &Run,
        source: &Source,
        current: Option<&Revision>,
        stop: &StopSignal,
    ) -> Result<Option<Material>, Stop> {
        let input = match run.kind {
            RunKind::Reprocess => {
                let current = current.ok_or_else(|| Stop::Failed {
                    message: "no content has been stored for this source yet".into(),
                    outcome: None,
                })?;
                let bytes = self.stored_raw(current).await?;
                return Ok(Some(Material {
                    bytes,
                    http: current.http.clone(),
                    content_hash: Some(current.content_hash.clone()),
                }));
            }
            RunKind::FastForward => run.input.as_ref().unwrap_or(&source.input),
            RunKind::Initial | RunKind::Refresh | RunKind::ScheduledRefresh => &source.input,
        };
        match input {
            SourceInput::Content { data } => Ok(Some(Material {
                bytes: data.clone().into_bytes(),
                http: HttpMeta { content_type: Some("text/plain; charset=utf-8".into()), ..HttpMeta::default() },
                content_hash: None,
            })),
            SourceInput::Uri { url } => {
                // A fast-forward brings new material: never let a validator skip it.
                let mut conditional = match (run.kind, current) {
                    (RunKind::FastForward, _) | (_, None) => Conditional::default(),
                    (_, Some(current)) => Conditional {
                        etag: current.http.etag.clone(),
                        last_modified: current.http.last_modified.clone(),
                        honour_robots: false,
                    },
                };
                conditional.honour_robots = run.kind == RunKind::ScheduledRefresh;
                // A cancel must not wait for a slow origin: whichever finishes first wins.
                let fetch = pin!(self.ports.uri_fetcher.fetch(url, &conditional));
                let fetched = match select(fetch, pin!(stop.stopped())).await {
                    Either::Left((fetched, _)) => fetched,
                    Either::Right(((), _)) => return Err(Stop::Canceled),
                };
                match fetched {
                    Ok(FetchOutcome::Fetched { bytes, http, content_hash }) => {
                        Ok(Some(Material { bytes, http, content_hash }))
                    }
                    Ok(FetchOutcome::NotModified) => Ok(None),
                    Ok(FetchOutcome::Gone { status }) => Err(Stop::Failed {
                        message: format!("origin answered {status}"),
                        outcome: Some(RunOutcome::Gone),
                    }),
                    Err(FetchError { transient: true, message }) => Err(Stop::Transient(message)),
                    Err(FetchError { transient: false, message }) => Err(Stop::Failed { message, outcome: None }),
                }
            }
            SourceInput::File { file_key } => {
                let upload = self.ports.uploads.find(file_key).await?.ok_or_else(|| Stop::Failed {
                    message: "the upload this source was made from no longer exists".into(),
                    outcome: Some(RunOutcome::Gone),
                })?;
                // The store's ETag plays the origin's: an object that was not
                // overwritten is not read again.
                let if_none_match = match (run.kind, current) {
                    (RunKind::FastForward, _) | (_, None) => None,
                    (_, Some(current)) => current.http.etag.clone(),
                };
                match self.ports.blobs.read(&upload.object_key(), if_none_match).await? {
                    BlobRead::NotModified => Ok(None),
                    BlobRead::Missing => Err(Stop::Failed {
                        message: format!("the uploaded file {} is no longer in storage", upload.filename),
                        outcome: Some(RunOutcome::Gone),
                    }),
                    BlobRead::Found { bytes, meta } => Ok(Some(Material {
                        bytes,
                        content_hash: None,
                        http: HttpMeta {
                            status: None,
                            etag: meta.etag,
                            last_modified: Some(meta.last_modified.to_rfc2822()),
                            content_type: Some(upload.content_type),
                        },
                    })),
                }
            }
            SourceInput::Composition { .. } => Err(Stop::Failed {
                message: "a composition's content comes from its members, not from new material".into(),
                outcome: None,
            }),
        }
    }

    pub(super) async fn stored_raw(&self, revision: &Revision) -> Result<Vec<u8>, Stop> {
        self.ports.blobs.get(&Revision::raw_key(revision.source_id, revision.number)).await?.ok_or_else(|| {
            Stop::Failed {
                message: format!("the content of revision {} is no longer stored", revision.number),
                outcome: None,
            }
        })
    }
}
