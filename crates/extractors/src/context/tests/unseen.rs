//! Tests of the chat context on the traps that conversations outside the benchmark's
//! transcripts showed: failure reports, long thanks, references introduced in prose,
//! approvals of a proposal, requests put as questions, a problem reported last.

use super::*;

#[test]
fn a_failure_reported_decides_nothing_and_the_fix_the_user_confirmed_does() {
    use Role::*;
    let doc = chat(&[
        (User, "Let's use template databases for the tests."),
        (Assistant, "Done: each test creates its database from the `base` template."),
        (User, "Tests pass locally but CI fails: ERROR: source database \"base\" is being accessed by other users"),
        (
            Assistant,
            "Postgres will not copy a template while anyone is connected to it. Close the migration pool first.",
        ),
        (User, "That fixed it, CI is green now and down to 9 minutes. Thanks!"),
    ]);
    assert_eq!(
        drafted(&doc).decisions,
        [
            "Let's use template databases for the tests.",
            "Postgres will not copy a template while anyone is connected to it. Close the migration pool first. \
             — confirmed working by the user",
        ],
        "the report is no decision and does not confirm the one before; the long thanks only confirms"
    );
    let unanswered = chat(&[
        (User, "The import fails with an error: ModuleNotFoundError: No module named 'yaml'"),
        (Assistant, "Install PyYAML: pip install pyyaml."),
        (User, "Find out why the nightly build broke; do not change code yet."),
        (Assistant, "The nightly image lost its PyYAML wheel."),
    ]);
    assert_eq!(
        drafted(&unanswered).decisions,
        ["Find out why the nightly build broke; do not change code yet."],
        "a report nobody confirmed fixed decides nothing; a request that mentions a failure still does"
    );
}

#[test]
fn an_approval_is_worded_by_the_proposal_and_a_thanks_answers_no_choice() {
    use Role::*;
    let doc = chat(&[
        (User, "Redis or a Postgres table with SKIP LOCKED for our job queue?"),
        (Assistant, "Use a Postgres jobs table claimed with FOR UPDATE SKIP LOCKED: no second service to run."),
        (User, "ok go with postgres"),
        (Assistant, "Here is the migration:\n\n```sql\nCREATE TABLE jobs (id BIGSERIAL PRIMARY KEY);\n```"),
        (
            User,
            "Here is our enqueue signature, for reference:\n\n```rust\npub async fn enqueue(kind: &str) -> Result<i64>\n```",
        ),
        (Assistant, "That fits. Should failed jobs be retried with backoff, or moved to a dead-letter table?"),
        (User, "nice, that worked!"),
    ]);
    let drafted = drafted(&doc);
    assert_eq!(
        drafted.decisions,
        ["Use a Postgres jobs table claimed with FOR UPDATE SKIP LOCKED: no second service to run. \
             — confirmed working by the user"],
        "the approved proposal, not the reply's lead-in; the pasted signature decides nothing"
    );
    assert_eq!(
        drafted.open_questions,
        ["Should failed jobs be retried with backoff, or moved to a dead-letter table? (not answered)"]
    );
}

#[test]
fn a_thanks_before_a_request_is_left_out_of_the_decision() {
    use Role::*;
    let doc = chat(&[
        (User, "Parse ISO 8601 durations into seconds."),
        (Assistant, "Here is `duration_seconds`, a regular expression over the units."),
        (User, "thanks! now make it accept fractional seconds like PT0.5S"),
        (Assistant, "The seconds group now takes a decimal part."),
        (User, "ok that worked"),
    ]);
    assert_eq!(
        drafted(&doc).decisions,
        [
            "Parse ISO 8601 durations into seconds. — confirmed working by the user",
            "now make it accept fractional seconds like PT0.5S — confirmed working by the user",
        ]
    );
}

#[test]
fn a_request_put_as_a_question_and_carried_out_is_a_decision_and_a_question_for_information_is_not() {
    use Role::*;
    let doc = chat(&[
        (User, "Can you write a bash script that backs up /etc to S3 every night?"),
        (Assistant, "Here is the script:\n\n```bash\ntar czf /tmp/etc.tgz /etc\n```"),
        (User, "Could you make it keep only the last 14 backups?"),
        (Assistant, "This deletes all but the newest 14."),
        (User, "Can you explain what `head -n -14` does?"),
        (Assistant, "It prints every line except the last 14."),
        (User, "Could you add a checksum file too?"),
    ]);
    let drafted = drafted(&doc);
    assert_eq!(
        drafted.decisions,
        ["Write a bash script that backs up /etc to S3 every night", "Make it keep only the last 14 backups"]
    );
    assert_eq!(drafted.open_questions, ["Could you add a checksum file too? (no answer)"], "asked, never answered");
}

#[test]
fn a_problem_the_user_reports_last_is_open_and_a_question_to_the_user_is_no_key_point() {
    use Role::*;
    let doc = chat(&[
        (User, "A list of 5,000 rows re-renders on every keystroke. How do I fix this?"),
        (
            Assistant,
            "The parent holds the search text in state, so every keystroke renders every row. Wrap each row in \
             React.memo so unchanged rows skip rendering. Would you like the react-window version, or \
             useDeferredValue?",
        ),
        (User, "start with useDeferredValue"),
        (Assistant, "Typing stays responsive because React renders the list with the deferred value."),
        (User, "typing is smooth now but the first render still takes 2 seconds"),
    ]);
    let drafted = drafted(&doc);
    assert_eq!(drafted.decisions, ["start with useDeferredValue"]);
    assert_eq!(drafted.open_questions, ["typing is smooth now but the first render still takes 2 seconds (no answer)"]);
    assert!(drafted.key_points.iter().all(|point| !point.ends_with('?')), "{:?}", drafted.key_points);
}

#[test]
fn a_pick_of_a_listed_option_is_worded_as_the_option_and_a_correction_is_a_decision() {
    use Role::*;
    let doc = chat(&[
        (User, "We need to store user uploads. Options?"),
        (
            Assistant,
            "Three options:\n\n1. Local disk: simplest, one replica only.\n2. S3 with presigned PUT URLs: clients \
             upload directly.\n3. Postgres large objects: backups balloon.\n\nWhich fits?",
        ),
        (User, "go with option 2"),
        (Assistant, "Wired `object_store` with the S3 backend and a presign endpoint."),
        (User, "the expiry is wrong, it should be 5 minutes"),
        (Assistant, "Presigned URLs now expire after 300 seconds."),
    ]);
    assert_eq!(
        drafted(&doc).decisions,
        [
            "S3 with presigned PUT URLs: clients upload directly. (option 2)",
            "the expiry is wrong, it should be 5 minutes"
        ]
    );
    let count = chat(&[
        (User, "How should the pool be sized?"),
        (Assistant, "1. Two workers per core.\n2. One worker per core."),
        (User, "use 2 workers"),
        (Assistant, "Set to 2 workers."),
    ]);
    assert_eq!(drafted(&count).decisions, ["use 2 workers"], "a number that names no option is the user's words");
}

#[test]
fn a_fix_committed_in_reply_to_a_run_is_a_decision_and_the_run_alone_is_not() {
    use Role::*;
    let doc = chat(&[
        (User, "/run go test ./..."),
        (Tool, "--- FAIL: TestLongJob\nFAIL"),
        (Assistant, "The recorder does not implement http.Flusher. I'll check the assertion."),
        (Tool, "Applied edit to server.go\nCommit 3c4d5e6 fix: Flush only when the writer supports it"),
        (User, "/run go test ./..."),
        (Tool, "ok  \texample.com/server\t0.412s"),
        (Assistant, "All tests pass."),
    ]);
    assert_eq!(drafted(&doc).decisions, ["fix: Flush only when the writer supports it (commit 3c4d5e6)"]);
}

#[test]
fn a_request_after_a_thanks_in_the_same_sentence_is_still_a_request() {
    use Role::*;
    let doc = chat(&[
        (User, "How do I reverse a list in Python?"),
        (Assistant, "Use items.reverse() in place, or items[::-1] for a reversed copy."),
        (User, "thanks, use the copy version in the docs"),
        (Assistant, "Done: the docs now show items[::-1]."),
        (User, "nice, now add it to the FAQ"),
        (Assistant, "Added."),
    ]);
    assert_eq!(
        drafted(&doc).decisions,
        ["use the copy version in the docs — confirmed working by the user", "now add it to the FAQ"],
        "a short thanks before a request no longer swallows it"
    );
}

#[test]
fn a_question_whose_attempt_the_user_had_reverted_stays_open() {
    use Role::*;
    let reverted = chat(&[
        (User, "is there a better way to cache the results than a global dict?"),
        (
            Assistant,
            "Use functools.lru_cache:\n\n```python\n@functools.lru_cache(maxsize=1024)\ndef lookup(key): ...\n```",
        ),
        (User, "that broke the tests, revert it"),
        (Assistant, "Reverted: the lookup uses the global dict again."),
        (User, "now add type hints to lookup"),
        (Assistant, "Added them."),
    ]);
    let drafted = drafted(&reverted);
    assert_eq!(
        drafted.open_questions,
        ["is there a better way to cache the results than a global dict? (the attempt was reverted, no answer since)"]
    );
    assert_eq!(drafted.decisions, ["Reverted: the lookup uses the global dict again.", "now add type hints to lookup"]);
}

#[test]
fn failures_a_later_reply_says_it_fixed_are_not_left_unresolved_without_commits() {
    use Role::*;
    let fixed = chat(&[
        (User, "run the tests"),
        (Assistant, "I ran them: 2 failures in test_parser.py, both in parse_range."),
        (User, "fix them"),
        (Assistant, "I changed parse_range to include the end value."),
    ]);
    assert!(drafted(&fixed).open_questions.is_empty(), "{:?}", drafted(&fixed).open_questions);
    let shown = chat(&[
        (User, "run the tests"),
        (Assistant, "I ran them: 2 failures in test_parser.py, both in parse_range."),
        (User, "add a docstring to parse_range"),
        (Assistant, "Here it is:\n\n```python\n\"\"\"Parse a range.\"\"\"\n```"),
    ]);
    assert_eq!(
        drafted(&shown).open_questions,
        ["Still unresolved at the end: I ran them: 2 failures in test_parser.py, both in parse_range."],
        "code for other work resolves nothing"
    );
}

#[test]
fn a_short_request_about_something_else_passes_an_offer_over_and_one_naming_an_option_takes_it() {
    use Role::*;
    let offer = "Here's the landing page. Want me to add a FAQ section or testimonials next?";
    let passed_over = chat(&[
        (User, "Build a landing page for BeanBox"),
        (Assistant, offer),
        (User, "make the header sticky"),
        (Assistant, "The header now stays at the top."),
    ]);
    assert_eq!(
        drafted(&passed_over).open_questions,
        ["Want me to add a FAQ section or testimonials next? (not answered)"]
    );
    let taken = chat(&[
        (User, "Build a landing page for BeanBox"),
        (Assistant, offer),
        (User, "testimonials please"),
        (Assistant, "Added three testimonials."),
    ]);
    assert!(drafted(&taken).open_questions.is_empty(), "{:?}", drafted(&taken).open_questions);
}

#[test]
fn running_decides_nothing_and_a_bare_fix_or_revert_is_worded_by_what_the_reply_did() {
    use Role::*;
    let doc = chat(&[
        (User, "run the tests"),
        (Assistant, "I ran them: 2 failures in test_parser.py, both in parse_range."),
        (User, "fix them"),
        (Assistant, "Fixed the off-by-one in parse_range:\n\n```python\nreturn range(start, end + 1)\n```"),
        (User, "that broke the benchmarks, revert it"),
        (Assistant, "Reverted: parse_range excludes the end again."),
    ]);
    assert_eq!(
        drafted(&doc).decisions,
        ["Fixed the off-by-one in parse_range", "Reverted: parse_range excludes the end again."]
    );
}

#[test]
fn a_short_answer_to_a_clarifying_question_is_a_detail_of_the_decision_and_answers_it() {
    use Role::*;
    let doc = chat(&[
        (User, "Write a migration that adds a created_at column to the orders table."),
        (Assistant, "Which database are you using?"),
        (User, "Postgres 15"),
        (Assistant, "Here it is:\n\n```sql\nALTER TABLE orders ADD COLUMN created_at timestamptz;\n```"),
        (User, "great"),
    ]);
    let drafted = drafted(&doc);
    assert_eq!(
        drafted.decisions,
        [
            "Write a migration that adds a created_at column to the orders table. (Postgres 15) — confirmed working by the user"
        ]
    );
    assert!(drafted.open_questions.is_empty(), "the question was answered: {:?}", drafted.open_questions);
}

#[test]
fn a_decision_a_later_one_replaces_is_marked_replaced() {
    use Role::*;
    let doc = chat(&[
        (User, "Use Postgres for the session store."),
        (Assistant, "Done: sessions are stored in a Postgres table."),
        (User, "Add a 30 minute expiry to sessions."),
        (Assistant, "Sessions now expire after 30 minutes."),
        (User, "Actually, switch the session store to Redis instead."),
        (Assistant, "Switched: sessions now live in Redis."),
    ]);
    assert_eq!(
        drafted(&doc).decisions,
        [
            "Use Postgres for the session store. — replaced by a later decision",
            "Add a 30 minute expiry to sessions.",
            "Actually, switch the session store to Redis instead.",
        ],
        "only the decision about the same thing is replaced"
    );
}

#[test]
fn instead_of_in_a_request_replaces_no_decision() {
    use Role::*;
    let doc = chat(&[
        (User, "Download the housing price data to test the population density hypothesis."),
        (Assistant, "Downloaded and printed all the data."),
        (User, "instead of printing all the data, print a table that shows whether the data supports the hypothesis"),
        (Assistant, "Now a summary table."),
    ]);
    assert!(drafted(&doc).decisions.iter().all(|d| !d.contains("replaced")), "{:?}", drafted(&doc).decisions);
}

#[test]
fn a_long_chat_keeps_its_first_and_last_decisions_and_exchanges_and_stays_compact() {
    use Role::*;
    let texts: Vec<(String, String)> = (0..300)
        .map(|i| (format!("Change f{i} to return {i} and add a test."), format!("Changed f{i}; added test_f{i}.")))
        .collect();
    let messages: Vec<(Role, &str)> =
        texts.iter().flat_map(|(user, reply)| [(User, user.as_str()), (Assistant, reply.as_str())]).collect();
    let drafted = drafted(&chat(&messages));
    assert_eq!(drafted.decisions.len(), 300, "the decisions field keeps every decision");
    assert!(drafted.content.contains("20. Change f19 to return 19"), "the first twenty");
    assert!(drafted.content.contains("300. Change f299 to return 299"), "the last forty, numbered as in the whole");
    assert!(!drafted.content.contains("Change f100 to return 100"), "the middle is left out");
    assert!(drafted.content.contains("… 240 more left out …"));
}
