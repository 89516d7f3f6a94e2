//! A COMPOSITION's run: its members' current outputs gathered and composed, with no
//! normalizer or extractor involved.

use super::*;

/// One composition member's outputs.
struct Gathered {
    label: String,
    markdown: Option<String>,
    context: Option<ContextDraft>,
    artifacts: Vec<ArtifactDraft>,
}

impl Pipeline {
    /// A COMPOSITION's run: its members' current markdown, artifacts and contexts
    /// joined in order (see [`composition`]). Nothing is re-extracted; the "fetch"
    /// stage is reading the members.
    pub(super) async fn compose(
        &self,
        run: &Run,
        subject: &RunSubject,
        source_ids: &[SourceId],
        stop: &StopSignal,
        timings: &mut StageTimings,
    ) -> Result<Produced, Stop> {
        let source = &subject.source;
        let extractor_version = self.extractor_version();
        let started = Instant::now();
        let found = self.ports.sources.get_many(source.user_id, source_ids).await?;
        let mut gathered = Vec::with_capacity(source_ids.len());
        for id in source_ids {
            // A deleted member is left out until it is restored (both rebuild).
            let Some(member) = found.iter().find(|m| m.id == *id && !m.is_deleted()) else { continue };
            gathered.push(self.gather(member).await?);
            checkpoint(stop)?;
        }
        timings.fetch = Some(elapsed_ms(started));
        if gathered.iter().all(|g| g.markdown.is_none()) {
            return Err(Stop::Failed {
                message: "none of the composition's live sources has content yet; it is rebuilt when one has".into(),
                outcome: None,
            });
        }

        let started = Instant::now();
        let title = source.name.clone().unwrap_or_else(|| "Composition".to_owned());
        let members: Vec<Member<'_>> = gathered
            .iter()
            .map(|g| Member {
                label: &g.label,
                markdown: g.markdown.as_deref(),
                context: g.context.as_ref(),
                artifacts: &g.artifacts,
            })
            .collect();
        let composed = composition::compose(&title, &members);
        timings.normalize = Some(elapsed_ms(started));
        // The members' contexts are part of what the composition is: a member
        // re-extracted with the same markdown still changes the composition.
        let content_hash = sha256(&[composed.markdown.as_bytes(), b"\0", composed.context.content.as_bytes()]);
        Self::stop_if_unchanged(run, subject, &content_hash, &extractor_version)?;

        let markdown = composed.markdown;
        let http = HttpMeta { content_type: Some("text/markdown; charset=utf-8".into()), ..HttpMeta::default() };
        let context = run.flags.run_context_extraction.then(|| {
            let mut draft = composed.context;
            let count = |text: &str| self.ports.context_extractor.count_tokens(text);
            draft.original_tokens = count(&markdown);
            draft.context_tokens = count(&draft.content);
            draft
        });
        checkpoint(stop)?;
        let made = Made {
            content_hash,
            http,
            fetched: true,
            raw: markdown.clone().into_bytes(),
            markdown,
            page_type: None,
            context,
            artifacts: composed.artifacts,
        };
        self.place(run, subject, made, extractor_version).await
    }

    /// What a composition needs of one member: its current markdown, context and
    /// artifacts, or nothing when it has no content yet.
    async fn gather(&self, member: &Source) -> Result<Gathered, Stop> {
        let mut gathered = Gathered {
            label: member.name.clone().unwrap_or_else(|| format!("source {}", member.id)),
            markdown: None,
            context: None,
            artifacts: Vec::new(),
        };
        let Some(number) = member.revision else { return Ok(gathered) };
        let Some(markdown) = self.ports.blobs.get(&Revision::markdown_key(member.id, number)).await? else {
            return Ok(gathered);
        };
        gathered.markdown = Some(String::from_utf8_lossy(&markdown).into_owned());
        if let Some(context) = self.ports.revisions.context(member.id, number).await? {
            if member.name.is_none()
                && let Some(title) = &context.draft.title
            {
                gathered.label.clone_from(title);
            }
            gathered.context = Some(context.draft);
        }
        gathered.artifacts =
            self.ports.artifacts.for_revision(member.id, number).await?.into_iter().map(|a| a.draft).collect();
        Ok(gathered)
    }
}
