//! The web console over HTTP as a browser uses it (forms, a session cookie, redirects),
//! on both databases: sign-in and out, the pages of a source's life, CSRF and other
//! users' ids. A real browser walks the same pages in `cargo xtask browser-check`.

use std::time::{Duration, Instant};

use ctxd_test_support::TestApp;
use serde_json::json;

use crate::pipeline::Origin;

on_both_backends!(
    signing_in_takes_a_key_and_gives_a_cookie_that_never_shows_it,
    forms_need_the_sessions_token_and_other_users_ids_are_not_found
);

with_workers!(
    a_source_can_be_added_read_refreshed_and_diffed_from_the_console => 3,
    collections_compositions_reprocess_fast_forward_and_restore_from_the_console => 3,
);

/// A browser: no redirects followed, one session cookie.
struct Browser {
    client: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

struct Page {
    status: u16,
    location: Option<String>,
    set_cookie: Option<String>,
    body: String,
}

impl Browser {
    fn new(app: &TestApp) -> Self {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { client, base: app.address.clone(), cookie: None }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let request = match &self.cookie {
            Some(cookie) => request.header("cookie", format!("ctxd_session={cookie}")),
            None => request,
        };
        let response = request.send().await.unwrap();
        let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
        let (location, set_cookie) = (header("location"), header("set-cookie"));
        if let Some(set) = &set_cookie {
            let value = set.split(';').next().unwrap().trim_start_matches("ctxd_session=").to_owned();
            self.cookie = (!value.is_empty()).then_some(value);
        }
        Page { status: response.status().as_u16(), location, set_cookie, body: response.text().await.unwrap() }
    }

    async fn get(&mut self, path: &str) -> Page {
        let request = self.client.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    async fn sign_in(&mut self, key: &str) -> Page {
        self.post("/sign-in", &[("key", key), ("next", "/spaces")]).await
    }

    /// The CSRF token of the page at `path`.
    async fn csrf(&mut self, path: &str) -> String {
        let page = self.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        let start = page.body.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
        page.body[start..].split('"').next().unwrap().to_owned()
    }
}

async fn signing_in_takes_a_key_and_gives_a_cookie_that_never_shows_it(app: TestApp) {
    let mut browser = Browser::new(&app);
    let root = browser.get("/").await;
    assert_eq!((root.status, root.location.as_deref()), (303, Some("/sign-in")));
    let guarded = browser.get("/sources/0192f1e0-0000-7000-8000-000000000000").await;
    assert_eq!(guarded.status, 303);
    assert_eq!(guarded.location.as_deref(), Some("/sign-in?next=%2Fsources%2F0192f1e0-0000-7000-8000-000000000000"));

    let wrong = browser.sign_in("ctxd_not_a_key").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("not valid"), "{}", wrong.body);
    assert!(browser.cookie.is_none());

    let signed = browser.post("/sign-in", &[("key", &app.api_key), ("next", "/keys")]).await;
    assert_eq!((signed.status, signed.location.as_deref()), (303, Some("/keys")), "back where the user was going");
    let set = signed.set_cookie.unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attribute), "{set}");
    }
    assert!(!set.contains(&app.api_key), "the key is not the cookie");
    let offsite = browser.post("/sign-in", &[("key", &app.api_key), ("next", "//evil.example/")]).await;
    assert_eq!(offsite.location.as_deref(), Some("/spaces"), "never sent to another site");

    for path in ["/spaces", "/keys"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(!page.body.contains(&app.api_key), "{path} shows no key");
    }

    // Signing out forgets the cookie; the old token is refused too.
    let token = browser.cookie.clone().unwrap();
    let csrf = browser.csrf("/spaces").await;
    let out = browser.post("/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!((out.status, out.location.as_deref()), (303, Some("/sign-in")));
    assert!(out.set_cookie.unwrap().contains("Max-Age=0"));
    assert!(browser.cookie.is_none());
    // A forged or tampered token is no session.
    browser.cookie = Some(format!("{token}x"));
    assert_eq!(browser.get("/spaces").await.status, 303);
    // A form posted after the session ended leads back to the page it was on.
    let request = browser
        .client
        .post(format!("{}/spaces", browser.base))
        .header("referer", format!("{}/spaces?x=1", browser.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("csrf=old&name=late");
    let late = browser.send(request).await;
    assert_eq!((late.status, late.location.as_deref()), (303, Some("/sign-in?next=%2Fspaces%3Fx%3D1")));

    // A session ends with its key.
    let key = app.key_for("dora").await;
    let mut dora = Browser::new(&app);
    assert_eq!(dora.sign_in(&key).await.status, 303);
    assert_eq!(dora.get("/spaces").await.status, 200);
    let listed = app.send(app.request_as(&key, reqwest::Method::GET, "/v1/api-keys")).await;
    let key_id = listed.body["api_keys"][0]["id"].as_str().unwrap().to_owned();
    app.send(app.request_as(&key, reqwest::Method::DELETE, &format!("/v1/api-keys/{key_id}"))).await;
    assert_eq!(dora.get("/spaces").await.status, 303, "a revoked key's session is over");
}

async fn forms_need_the_sessions_token_and_other_users_ids_are_not_found(app: TestApp) {
    let space = app.create_space("alice's").await;
    let source = app.create_source(&space, json!({"type": "CONTENT", "initial_data": {"data": "private"}})).await;
    let source = source["id"].as_str().unwrap().to_owned();
    let mut alice = Browser::new(&app);
    alice.sign_in(&app.api_key).await;

    // No token, a wrong token, another session's token: refused, nothing changed.
    let mut bob = Browser::new(&app);
    bob.sign_in(&app.key_for("bob").await).await;
    let bobs = bob.csrf("/spaces").await;
    for csrf in ["", "forged", bobs.as_str()] {
        let posted = alice.post("/spaces", &[("csrf", csrf), ("name", "sneaky")]).await;
        assert_eq!(posted.status, 403, "csrf {csrf:?}: {}", posted.body);
        let deleted = alice.post(&format!("/spaces/{space}/delete"), &[("csrf", csrf)]).await;
        assert_eq!(deleted.status, 403);
    }
    assert_eq!(app.get("/v1/spaces").await.body["pagination"]["total"], 1, "nothing was created or deleted");

    // Bob sees none of Alice's pages, and cannot act on them.
    for path in [format!("/spaces/{space}"), format!("/sources/{source}"), format!("/sources/{source}/diff")] {
        let page = bob.get(&path).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(!page.body.contains("private"), "{path}");
    }
    let refresh = bob.post(&format!("/sources/{source}/delete"), &[("csrf", &bobs)]).await;
    assert_eq!(refresh.status, 404);
    assert_eq!(app.get(&format!("/v1/sources/{source}")).await.status, 200, "still there");

    // A refused form comes back with its values and the error next to the field.
    let csrf = alice.csrf(&format!("/spaces/{space}")).await;
    let neither = alice.post(&format!("/spaces/{space}/sources"), &[("csrf", &csrf), ("name", "kept name")]).await;
    assert_eq!(neither.status, 400);
    assert!(neither.body.contains("id=\"url-error\""), "{}", neither.body);
    assert!(neither.body.contains("value=\"kept name\""), "values survive a refusal");
    let bad_url =
        alice.post(&format!("/spaces/{space}/sources"), &[("csrf", &csrf), ("url", "ftp://example.com/x")]).await;
    assert_eq!(bad_url.status, 400);
    assert!(bad_url.body.contains("id=\"url-error\""), "{}", bad_url.body);
    let blank = alice.post("/spaces", &[("csrf", &csrf), ("name", "   ")]).await;
    assert_eq!(blank.status, 400);
    assert!(blank.body.contains("id=\"name-error\""), "{}", blank.body);
}

async fn a_source_can_be_added_read_refreshed_and_diffed_from_the_console(app: TestApp) {
    let mut browser = Browser::new(&app);
    browser.sign_in(&app.api_key).await;
    let csrf = browser.csrf("/spaces").await;
    let created = browser.post("/spaces", &[("csrf", &csrf), ("name", "Research")]).await;
    assert_eq!(created.status, 303);
    let space_page = created.location.unwrap();

    // Pasted text: the source page shows its context and artifacts once processed.
    let text = "# Deploy notes\n\nWe decided to run ctxd under systemd.\n\n```sh\nsystemctl enable --now ctxd\n```\n";
    let added =
        browser.post(&format!("{space_page}/sources"), &[("csrf", &csrf), ("text", text), ("name", "notes")]).await;
    assert_eq!(added.status, 303, "{}", added.body);
    let source_page = added.location.unwrap();
    let page = wait_for_status(&mut browser, &source_page, "COMPLETED").await;
    assert!(page.contains("context tokens from"), "the context panel");
    assert!(page.contains("systemctl enable --now ctxd"), "the artifact");
    assert!(page.contains("<table>") && page.contains("INITIAL"), "the runs");
    assert!(page.contains("class=\"phases\"") && page.contains("normalize "), "a run's phases as a bar");
    let live = browser.get(&format!("{source_page}/live")).await;
    assert!(live.body.contains("event: source") && live.body.contains("\"COMPLETED\""), "{}", live.body);

    // A URL source, refreshed after the page changed: a diff between revisions.
    let (origin, url) = Origin::start().await;
    let added = browser.post(&format!("{space_page}/sources"), &[("csrf", &csrf), ("url", &url)]).await;
    let url_page = added.location.unwrap();
    wait_for_status(&mut browser, &url_page, "COMPLETED").await;
    origin.set("second version with other words", "\"v2\"");
    let refreshed = browser.post(&format!("{url_page}/refresh"), &[("csrf", &csrf)]).await;
    assert_eq!((refreshed.status, refreshed.location.as_deref()), (303, Some(url_page.as_str())));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !browser.get(&url_page).await.body.contains("diff with the previous") {
        assert!(Instant::now() < deadline, "no second revision");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let diff = browser.get(&format!("{url_page}/diff?to=2")).await;
    assert_eq!(diff.status, 200);
    assert!(diff.body.contains("class=\"add\"") && diff.body.contains("second version"), "{}", diff.body);
    let split = browser.get(&format!("{url_page}/diff?to=2&from=1&view=split")).await;
    assert!(split.body.contains("<td class=\"add\">") && split.body.contains("Unified view"), "{}", split.body);

    let search = browser.get(&format!("{space_page}/search?q=systemctl")).await;
    assert!(search.body.contains("1 found"), "{}", search.body);

    // A key made in the console is shown once; revoking it works.
    let keys_csrf = browser.csrf("/keys").await;
    let made = browser.post("/keys", &[("csrf", &keys_csrf), ("name", "laptop")]).await;
    assert_eq!(made.status, 200);
    let secret_at = made.body.find("id=\"new-key\">").unwrap() + 13;
    let secret = made.body[secret_at..].split('<').next().unwrap().to_owned();
    assert!(secret.starts_with("ctxd_"), "{secret}");
    assert_eq!(app.send(app.request_as(&secret, reqwest::Method::GET, "/v1/spaces")).await.status, 200);
    assert!(!browser.get("/keys").await.body.contains(&secret), "shown only once");
    let listed = app.get("/v1/api-keys").await.body;
    let laptop = listed["api_keys"].as_array().unwrap().iter().find(|k| k["name"] == "laptop").unwrap()["id"].clone();
    let revoked = browser.post(&format!("/keys/{}/revoke", laptop.as_str().unwrap()), &[("csrf", &keys_csrf)]).await;
    assert_eq!(revoked.status, 303);
    assert_eq!(app.send(app.request_as(&secret, reqwest::Method::GET, "/v1/spaces")).await.status, 401);

    // Deleting the source goes back to its space, where it is gone.
    let deleted = browser.post(&format!("{source_page}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(deleted.location.as_deref(), Some(space_page.as_str()));
    assert_eq!(browser.get(&source_page).await.status, 404);
}

/// Reloads `path` until its status badge says `status`; returns the page.
async fn wait_for_status(browser: &mut Browser, path: &str, status: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = browser.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        if page.body.contains(&format!("class=\"badge {status}\"")) {
            return page.body;
        }
        assert!(Instant::now() < deadline, "{path} never became {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn collections_compositions_reprocess_fast_forward_and_restore_from_the_console(app: TestApp) {
    let space = app.create_space("Notes").await;
    let space_page = format!("/spaces/{space}");
    let mut browser = Browser::new(&app);
    browser.sign_in(&app.api_key).await;
    let csrf = browser.csrf(&space_page).await;

    // A collection, and a source filed in it.
    let made = browser.post(&format!("{space_page}/collections"), &[("csrf", &csrf), ("name", "Meetings")]).await;
    assert_eq!(made.status, 303, "{}", made.body);
    let filtered = made.location.unwrap();
    let collection = filtered.rsplit('=').next().unwrap().to_owned();
    let table = "# Scores\n\n| Flavour | Score |\n|---|---|\n| vanilla | 3 |\n| lemon | 5 |\n";
    let added = browser
        .post(&format!("{space_page}/sources"), &[("csrf", &csrf), ("text", table), ("collection", &collection)])
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    let scores = added.location.unwrap();
    let page = wait_for_status(&mut browser, &scores, "COMPLETED").await;
    assert!(page.contains("<th>Flavour</th>"), "a table artifact is shown as a table");
    let listed = browser.get(&filtered).await.body;
    assert!(listed.contains(&scores) && listed.contains("aria-current=\"page\""), "{listed}");

    // A conversation, continued by fast-forward; reprocessed without context extraction.
    let first = "**User:** Which colour?\n\n**Assistant:** Blue.\n";
    let chat = browser.post(&format!("{space_page}/sources"), &[("csrf", &csrf), ("text", first)]).await;
    let chat = chat.location.unwrap();
    wait_for_status(&mut browser, &chat, "COMPLETED").await;
    let continued = format!("{first}\n**User:** And the shape?\n\n**Assistant:** Round.\n");
    let forwarded = browser.post(&format!("{chat}/fast-forward"), &[("csrf", &csrf), ("text", &continued)]).await;
    assert_eq!(forwarded.status, 303, "{}", forwarded.body);
    let chat_id = chat.rsplit('/').next().unwrap();
    assert_eq!(app.get(&format!("/v1/sources/{chat_id}")).await.body["last_run"]["kind"], "FAST_FORWARD");
    wait_for_status(&mut browser, &chat, "COMPLETED").await;
    let reprocessed =
        browser.post(&format!("{chat}/reprocess"), &[("csrf", &csrf), ("flags", "1"), ("artifacts", "on")]).await;
    assert_eq!(reprocessed.status, 303);
    let run = app.get(&format!("/v1/sources/{chat_id}")).await.body["last_run"].clone();
    assert_eq!((run["kind"].as_str(), run["run_context_extraction"].as_bool()), (Some("REPROCESS"), Some(false)));
    assert_eq!(run["run_artifact_extraction"], true);
    wait_for_status(&mut browser, &chat, "COMPLETED").await;

    // A composition of the two, chosen by ticking them.
    let scores_id = scores.rsplit('/').next().unwrap();
    let composed = browser
        .post(&format!("{space_page}/sources"), &[("csrf", &csrf), ("member", scores_id), ("member", chat_id)])
        .await;
    assert_eq!(composed.status, 303, "{}", composed.body);
    let composition = composed.location.unwrap();
    let page = wait_for_status(&mut browser, &composition, "COMPLETED").await;
    assert!(page.contains("COMPOSITION"), "{page}");

    // A file through the signed upload, as the page's script does it.
    let presign = browser
        .client
        .post(format!("{}/uploads", browser.base))
        .header("cookie", format!("ctxd_session={}", browser.cookie.clone().unwrap()))
        .header("x-csrf-token", &csrf)
        .json(&json!({"filename": "notes.md", "content_type": "text/markdown", "size": 22}))
        .send()
        .await
        .unwrap();
    assert_eq!(presign.status(), 200);
    let presigned: serde_json::Value = presign.json().await.unwrap();
    let put = browser
        .client
        .put(format!("{}{}", browser.base, presigned["upload_url"].as_str().unwrap()))
        .header("content-type", "text/markdown")
        .body("# Notes\n\nUploaded.\n\n..")
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    let key = presigned["file_key"].as_str().unwrap();
    let uploaded = browser.post(&format!("{space_page}/sources"), &[("csrf", &csrf), ("file_key", key)]).await;
    assert_eq!(uploaded.status, 303, "{}", uploaded.body);
    let page = wait_for_status(&mut browser, &uploaded.location.unwrap(), "COMPLETED").await;
    assert!(page.contains("FILE"), "{page}");
    let forged = browser
        .client
        .post(format!("{}/uploads", browser.base))
        .header("cookie", format!("ctxd_session={}", browser.cookie.clone().unwrap()))
        .json(&json!({"filename": "x.md", "content_type": "text/markdown", "size": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403, "the presign needs the session's token too");

    // Deleted, then restored from the space's list of deleted sources.
    browser.post(&format!("{chat}/delete"), &[("csrf", &csrf)]).await;
    assert!(!browser.get(&space_page).await.body.contains(&format!("/sources/{chat_id}/restore")));
    let with_deleted = browser.get(&format!("{space_page}?deleted=1")).await.body;
    assert!(with_deleted.contains(&format!("/sources/{chat_id}/restore")), "{with_deleted}");
    let restored = browser.post(&format!("{chat}/restore"), &[("csrf", &csrf)]).await;
    assert_eq!(restored.location.as_deref(), Some(space_page.as_str()));
    assert_eq!(browser.get(&chat).await.status, 200);
}
