//! The optional LLM context extractor: asks an OpenAI-compatible chat-completions
//! endpoint (OpenAI, a local Ollama or vLLM) for the same sections the offline
//! extractor produces, parses the answer strictly, retries transient failures, and
//! falls back to the offline extractor whenever the model cannot give a valid answer.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use ctxd_domain::{
    model::{ArtifactDraft, ContextDraft, Document},
    ports::ContextExtractor,
};
use serde::Deserialize;
use serde_json::json;
use url::Url;

/// Counts tokens the way the rest of ctxd does (injected: this adapter does not
/// depend on the extractors).
pub type TokenCounter = Arc<dyn Fn(&str) -> u64 + Send + Sync>;

/// Where and how to ask the model.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    /// The API root, such as `https://api.openai.com/v1` or `http://localhost:11434/v1`.
    pub base_url: Url,
    pub model: String,
    pub api_key: Option<ctxd_domain::secret::Secret>,
    /// Per request.
    pub timeout: Duration,
    /// Further attempts after a transient failure (network, 429, 5xx, invalid answer).
    pub max_retries: u32,
    /// The document is cut to this many characters before it is sent.
    pub max_input_chars: usize,
}

const PROMPT: &str = "You turn a document or an AI chat transcript into a compact context that \
someone pastes into a new chat. Answer with one JSON object and nothing else, with exactly these \
keys: \"title\" (string or null), \"summary\" (string, at most 5 sentences), \"key_points\" (array \
of strings), \"decisions\" (array of strings: what was settled and is still in force, with exact \
names, values, paths and commit ids; a suggestion nobody accepted is not a decision), \
\"open_questions\" (array of strings: raised and not answered by the end). Keep every decision and \
open question; do not invent any.";

/// The sections the model must return.
#[derive(Debug, Deserialize)]
struct Sections {
    title: Option<String>,
    summary: String,
    key_points: Vec<String>,
    decisions: Vec<String>,
    open_questions: Vec<String>,
}

/// Why one attempt failed.
#[derive(Debug)]
enum Failure {
    /// Worth another attempt.
    Transient(String),
    /// Another attempt would fail the same way.
    Permanent(String),
}

#[derive(Clone)]
pub struct LlmContextExtractor {
    config: LlmConfig,
    client: reqwest::Client,
    fallback: Arc<dyn ContextExtractor>,
    count_tokens: TokenCounter,
    version: &'static str,
}

impl std::fmt::Debug for LlmContextExtractor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmContextExtractor").field("model", &self.config.model).finish_non_exhaustive()
    }
}

impl LlmContextExtractor {
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(
        config: LlmConfig,
        fallback: Arc<dyn ContextExtractor>,
        count_tokens: TokenCounter,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder().timeout(config.timeout).build()?;
        // The version names the model, so that changing it re-extracts on refresh.
        // Built once per process from configuration, hence leaked.
        let version: &'static str = Box::leak(format!("llm-1:{}", config.model).into_boxed_str());
        Ok(Self { config, client, fallback, count_tokens, version })
    }

    async fn ask(&self, document: &Document) -> Result<Sections, Failure> {
        let endpoint = self
            .config
            .base_url
            .join("chat/completions")
            .map_err(|e| Failure::Permanent(format!("bad base URL: {e}")))?;
        let input: String = document.markdown.chars().take(self.config.max_input_chars).collect();
        let body = json!({
            "model": self.config.model,
            "temperature": 0,
            "response_format": {"type": "json_object"},
            "messages": [
                {"role": "system", "content": PROMPT},
                {"role": "user", "content": input},
            ],
        });
        let mut request = self.client.post(endpoint).json(&body);
        if let Some(key) = &self.config.api_key {
            request = request.bearer_auth(key.expose());
        }
        let response = request.send().await.map_err(|e| Failure::Transient(format!("request failed: {e}")))?;
        let status = response.status();
        if status.as_u16() == 429 || status.is_server_error() {
            return Err(Failure::Transient(format!("the model endpoint answered {status}")));
        }
        if !status.is_success() {
            return Err(Failure::Permanent(format!("the model endpoint answered {status}")));
        }
        let reply: serde_json::Value =
            response.json().await.map_err(|e| Failure::Transient(format!("unreadable response: {e}")))?;
        let content = reply
            .pointer("/choices/0/message/content")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| Failure::Transient("the response has no message content".into()))?;
        parse_sections(content).map_err(Failure::Transient)
    }

    fn render(&self, document: &Document, sections: Sections, artifacts: &[ArtifactDraft]) -> ContextDraft {
        let mut content = String::new();
        let title = sections.title.filter(|t| !t.trim().is_empty()).or_else(|| document.title.clone());
        if let Some(title) = &title {
            content.push_str(&format!("# {title}\n\n"));
        }
        if !sections.summary.trim().is_empty() {
            content.push_str(&format!("{}\n\n", sections.summary.trim()));
        }
        for (heading, items) in [
            ("Decisions", &sections.decisions),
            ("Open questions", &sections.open_questions),
            ("Key points", &sections.key_points),
        ] {
            if !items.is_empty() {
                content.push_str(&format!("## {heading}\n\n"));
                for item in items {
                    content.push_str(&format!("- {}\n", item.trim()));
                }
                content.push('\n');
            }
        }
        // Pointers to every artifact come from what was found, never from the model.
        content.push_str(&ArtifactDraft::pointers(artifacts));
        let content = content.trim_end().to_owned() + "\n";
        ContextDraft {
            original_tokens: (self.count_tokens)(&document.markdown),
            context_tokens: (self.count_tokens)(&content),
            content,
            title,
            summary: Some(sections.summary.trim().to_owned()).filter(|s| !s.is_empty()),
            outline: Vec::new(),
            key_points: sections.key_points,
            decisions: sections.decisions,
            open_questions: sections.open_questions,
        }
    }
}

/// The sections in a model's answer: one JSON object with the five keys and their
/// types (a fenced ```json block is unwrapped; anything else is refused).
fn parse_sections(content: &str) -> Result<Sections, String> {
    let trimmed = content.trim();
    let unfenced = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|rest| rest.trim_end().strip_suffix("```"))
        .unwrap_or(trimmed);
    serde_json::from_str(unfenced.trim()).map_err(|e| format!("the answer is not the expected JSON: {e}"))
}

#[async_trait]
impl ContextExtractor for LlmContextExtractor {
    fn version(&self) -> &'static str {
        self.version
    }

    async fn extract(&self, document: &Document, artifacts: &[ArtifactDraft]) -> ContextDraft {
        let mut attempt = 0;
        let failure = loop {
            match self.ask(document).await {
                Ok(sections) => return self.render(document, sections, artifacts),
                Err(Failure::Transient(message)) if attempt < self.config.max_retries => {
                    tracing::warn!(model = %self.config.model, attempt, %message, "context model failed; retrying");
                    tokio::time::sleep(Duration::from_millis(250 << attempt.min(6))).await;
                    attempt += 1;
                }
                Err(Failure::Transient(message) | Failure::Permanent(message)) => break message,
            }
        };
        tracing::warn!(model = %self.config.model, message = %failure, "context model gave no valid answer; using the offline extractor");
        self.fallback.extract(document, artifacts).await
    }

    fn count_tokens(&self, text: &str) -> u64 {
        (self.count_tokens)(text)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    };

    use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
    use ctxd_domain::model::{ArtifactKind, DocumentFormat, Provenance};

    use super::*;

    /// A stand-in for the offline extractor.
    struct Offline;

    #[async_trait]
    impl ContextExtractor for Offline {
        fn version(&self) -> &'static str {
            "offline-1"
        }
        async fn extract(&self, _: &Document, _: &[ArtifactDraft]) -> ContextDraft {
            ContextDraft { content: "offline".into(), ..ContextDraft::default() }
        }
        fn count_tokens(&self, text: &str) -> u64 {
            text.len() as u64
        }
    }

    /// A fake endpoint answering each request with the next scripted reply.
    struct Fake {
        replies: Mutex<Vec<(StatusCode, serde_json::Value)>>,
        calls: AtomicUsize,
        last_body: Mutex<Option<serde_json::Value>>,
    }

    async fn completions(
        State(fake): State<Arc<Fake>>,
        headers: axum::http::HeaderMap,
        Json(body): Json<serde_json::Value>,
    ) -> (StatusCode, Json<serde_json::Value>) {
        fake.calls.fetch_add(1, Ordering::SeqCst);
        assert_eq!(headers["authorization"], "Bearer sk-test");
        *fake.last_body.lock().unwrap() = Some(body);
        let mut replies = fake.replies.lock().unwrap();
        let (status, reply) = if replies.is_empty() { (StatusCode::OK, json!({})) } else { replies.remove(0) };
        (status, Json(reply))
    }

    fn answer(content: &str) -> (StatusCode, serde_json::Value) {
        (StatusCode::OK, json!({"choices": [{"message": {"role": "assistant", "content": content}}]}))
    }

    async fn extractor(
        replies: Vec<(StatusCode, serde_json::Value)>,
        timeout: Duration,
    ) -> (LlmContextExtractor, Arc<Fake>) {
        let fake =
            Arc::new(Fake { replies: Mutex::new(replies), calls: AtomicUsize::new(0), last_body: Mutex::new(None) });
        let app = Router::new().route("/v1/chat/completions", post(completions)).with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let config = LlmConfig {
            base_url: Url::parse(&format!("http://{address}/v1/")).unwrap(),
            model: "test-model".into(),
            api_key: Some(ctxd_domain::secret::Secret::new("sk-test")),
            timeout,
            max_retries: 2,
            max_input_chars: 1000,
        };
        let counter: TokenCounter = Arc::new(|text: &str| text.split_whitespace().count() as u64);
        (LlmContextExtractor::new(config, Arc::new(Offline), counter).unwrap(), fake)
    }

    fn document() -> (Document, Vec<ArtifactDraft>) {
        let doc = Document::new("User: use Postgres?\nAssistant: yes\n```sql\nSELECT 1;\n```", DocumentFormat::Chat);
        let artifact = ArtifactDraft {
            kind: ArtifactKind::Code,
            language: Some("sql".into()),
            title: None,
            content: "SELECT 1;\n".into(),
            metadata: json!({}),
            provenance: Provenance { start_line: 3, end_line: 5, turn: Some(2) },
        };
        (doc, vec![artifact])
    }

    const GOOD: &str = r#"{"title": "Queue", "summary": "Postgres holds the queue.", "key_points": ["SKIP LOCKED"], "decisions": ["Use Postgres"], "open_questions": []}"#;

    #[tokio::test]
    async fn a_valid_answer_becomes_the_context_with_every_artifact_pointer() {
        let (llm, fake) = extractor(vec![answer(&format!("```json\n{GOOD}\n```"))], Duration::from_secs(5)).await;
        let (doc, artifacts) = document();
        let draft = llm.extract(&doc, &artifacts).await;
        assert_eq!(draft.decisions, ["Use Postgres"]);
        assert_eq!(draft.title.as_deref(), Some("Queue"));
        assert!(draft.content.contains("## Decisions\n\n- Use Postgres"), "{}", draft.content);
        assert!(draft.content.contains("- A1 CODE sql (turn 2, lines 3-5)"), "{}", draft.content);
        assert_eq!(draft.original_tokens, 9, "counted by the injected counter");
        let body = fake.last_body.lock().unwrap().clone().unwrap();
        assert_eq!(body["model"], "test-model");
        assert_eq!(body["messages"][1]["content"], doc.markdown);
        assert_eq!(llm.version(), "llm-1:test-model");
    }

    #[tokio::test]
    async fn transient_failures_are_retried() {
        let replies = vec![(StatusCode::SERVICE_UNAVAILABLE, json!({})), answer("not json"), answer(GOOD)];
        let (llm, fake) = extractor(replies, Duration::from_secs(5)).await;
        let (doc, artifacts) = document();
        assert_eq!(llm.extract(&doc, &artifacts).await.decisions, ["Use Postgres"]);
        assert_eq!(fake.calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn invalid_answers_and_refusals_fall_back_to_the_offline_extractor() {
        let wrong_types =
            r#"{"title": null, "summary": "s", "key_points": "not a list", "decisions": [], "open_questions": []}"#;
        let (llm, fake) = extractor(vec![answer(wrong_types); 3], Duration::from_secs(5)).await;
        let (doc, artifacts) = document();
        assert_eq!(llm.extract(&doc, &artifacts).await.content, "offline");
        assert_eq!(fake.calls.load(Ordering::SeqCst), 3, "one attempt and two retries");

        let (llm, fake) = extractor(vec![(StatusCode::UNAUTHORIZED, json!({}))], Duration::from_secs(5)).await;
        assert_eq!(llm.extract(&doc, &artifacts).await.content, "offline");
        assert_eq!(fake.calls.load(Ordering::SeqCst), 1, "a 401 is not retried");
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_falls_back() {
        let config = LlmConfig {
            base_url: Url::parse("http://127.0.0.1:9/v1/").unwrap(),
            model: "m".into(),
            api_key: None,
            timeout: Duration::from_millis(200),
            max_retries: 0,
            max_input_chars: 10,
        };
        let llm = LlmContextExtractor::new(config, Arc::new(Offline), Arc::new(|_: &str| 0)).unwrap();
        let (doc, artifacts) = document();
        assert_eq!(llm.extract(&doc, &artifacts).await.content, "offline");
    }

    #[test]
    fn only_the_expected_json_parses() {
        assert!(parse_sections(GOOD).is_ok());
        assert!(parse_sections("Sure! Here it is: {}").is_err());
        assert!(parse_sections(r#"{"summary": "s"}"#).is_err(), "missing keys");
    }
}
