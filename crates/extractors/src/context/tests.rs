//! Tests of the extractive context on small documents and chats written for each rule.

use super::*;
use crate::chat::{Chat, Message, render};

mod unseen;

fn chat(messages: &[(Role, &str)]) -> Document {
    render(&Chat {
        title: Some("Queue design".into()),
        messages: messages.iter().map(|(r, t)| Message::new(*r, *t)).collect(),
    })
}

/// The context of `doc` with the artifacts found in it, as the pipeline drafts it.
fn drafted(doc: &Document) -> ContextDraft {
    ExtractiveContextExtractor.draft(doc, &crate::artifacts::extract(doc))
}

#[test]
fn chat_decisions_follow_instructions_commits_and_undos() {
    use Role::*;
    let doc = chat(&[
        (User, "Should the queue live in Redis or Postgres?"),
        (Assistant, "Postgres is enough: SKIP LOCKED gives safe claims. Redis adds a second store."),
        (User, "Use Postgres with SKIP LOCKED for the queue."),
        (Assistant, "Done:\n\n```sql\nSELECT id FROM runs FOR UPDATE SKIP LOCKED;\n```"),
        (Tool, "Applied edit to queue.sql\nCommit 1a2b3c4 feat: claim runs with SKIP LOCKED"),
        (User, "/undo"),
        (Tool, "Removed: 1a2b3c4 feat: claim runs with SKIP LOCKED"),
        (User, "/model gpt-4o"),
        (User, "How long should the lease be?"),
    ]);
    let artifacts = crate::artifacts::extract(&doc);
    let draft = ExtractiveContextExtractor.draft(&doc, &artifacts);
    assert_eq!(
        draft.decisions,
        [
            "feat: claim runs with SKIP LOCKED (commit 1a2b3c4) — asked: \"Use Postgres with SKIP LOCKED for the queue.\"",
            "Undid commit 1a2b3c4 feat: claim runs with SKIP LOCKED",
            "Switched the model to gpt-4o",
        ]
    );
    assert_eq!(draft.open_questions, ["How long should the lease be? (no answer)"]);
    assert_eq!(draft.title.as_deref(), Some("Queue design"));
    let content = &draft.content;
    assert!(content.contains("- A1 CODE sql"), "a pointer to every artifact: {content}");
    assert!(content.contains("[A1]"), "the exchange points at its artifact: {content}");
    assert!(content.contains("Should the queue live in Redis or Postgres? → **Assistant:** Postgres is enough"));
    assert!(draft.context_tokens > 0 && draft.original_tokens > 0);
    assert_eq!(ExtractiveContextExtractor.draft(&doc, &artifacts), draft, "deterministic");
}

#[test]
fn the_conversation_only_recalls_a_request_that_decisions_quote_whole() {
    use Role::*;
    let request = "wrap the analytics stuff in an Analytics object and pass that around, then I don't have to \
                   check whether tracking is on at every call site";
    let question = "what would it take to make the analytics module usable from the web ui as well as from \
                    the command line, and is that worth doing now?";
    let doc = chat(&[(User, request), (Assistant, "Done."), (User, question), (Assistant, "Not much.")]);
    let draft = drafted(&doc);
    assert_eq!(draft.decisions, [request]);
    assert!(
        draft.content.contains(
            "1. **User:** wrap the analytics stuff in an Analytics object and pass that around, then I don't \
             have to check… → **Assistant:** Done."
        ),
        "{}",
        draft.content
    );
    assert!(draft.content.contains(&format!("2. **User:** {question} →")), "{}", draft.content);
}

#[test]
fn the_users_own_changes_aider_commits_before_its_edit_are_named_as_such() {
    use Role::*;
    let doc = chat(&[
        (User, "add a force_refresh arg to get_repo_map"),
        (Assistant, "Certainly! Here is the change."),
        (
            Tool,
            "Committing aider/repomap.py before applying edits.\nCommit bcd6257 feat: Add last_map attribute\n\
             Applied edit to aider/repomap.py\nCommit 551804c feat: add force_refresh arg",
        ),
        (User, "now add a --map-refresh switch"),
        (Assistant, "The edit did not apply."),
        (Tool, "Committing aider/main.py before applying edits.\nCommit 1234abc fix: user edits"),
    ]);
    assert_eq!(
        drafted(&doc).decisions,
        [
            "feat: add force_refresh arg (commit 551804c) — asked: \"add a force_refresh arg to get_repo_map\"; the \
             user's own changes committed as feat: Add last_map attribute (commit bcd6257)",
            "now add a --map-refresh switch; the user's own changes committed as fix: user edits (commit 1234abc)",
        ]
    );
}

#[test]
fn an_instruction_sent_again_with_a_change_before_any_commit_is_decided_by_the_later_one() {
    use Role::*;
    let doc = chat(&[
        (User, "add a /map command that runs get_repo_map with `force_refresh`"),
        (Tool, "^C again to exit"),
        (Assistant, "Certainly! I'll add a `/map` command.\n\n```python\ndef cmd_map(self, args):\n"),
        (User, "add a /map-refresh command that runs get_repo_map with `force_refresh`"),
        (Assistant, "Certainly! I'll add a `/map-refresh` command."),
        (Tool, "Commit 17335b1 feat: Add /map-refresh command"),
        (User, "add a test for the command"),
        (Assistant, "Here is a test."),
        (User, "add a test for the parser as well"),
        (Assistant, "Here is another."),
    ]);
    let draft = drafted(&doc);
    assert_eq!(
        draft.decisions,
        [
            "feat: Add /map-refresh command (commit 17335b1) — asked: \"add a /map-refresh command that runs \
             get_repo_map with force_refresh\"",
            "add a test for the command",
            "add a test for the parser as well",
        ],
        "the interrupted /map request is superseded; two different requests both stand"
    );
    assert!(draft.content.contains("**User:** add a /map command"), "the exchange stays in the conversation");
}

#[test]
fn a_request_phrased_as_a_question_that_was_committed_is_a_decision_and_a_run_result_is_kept() {
    use Role::*;
    let doc = chat(&[
        (User, "can you add a summary table?"),
        (Assistant, "Sure:\n\n```python\nprint(df.describe())\n```"),
        (Tool, "Applied edit to getdata.py\nCommit 2f4fcd4 aider: print a summary table"),
        (User, "/run python3 getdata.py"),
        (Tool, "Correlation: 0.16020298445808737\nAdd the output to the chat? y"),
        (Assistant, "The script works. The correlation between density and prices is 0.1602."),
        (User, "/add notes.md"),
    ]);
    let draft = drafted(&doc);
    assert_eq!(draft.decisions, ["print a summary table (commit 2f4fcd4)"]);
    assert!(draft.open_questions.is_empty(), "{:?}", draft.open_questions);
    let content = &draft.content;
    assert!(content.contains("**User:** /run python3 getdata.py → **Assistant:**"), "{content}");
    assert!(content.contains("0.1602"), "the result the reply read out is kept: {content}");
    assert!(!content.contains("/add notes.md"), "a bare command is not an exchange: {content}");
}

#[test]
fn problems_left_at_the_end_and_a_final_request_only_announced_stay_open() {
    use Role::*;
    let doc = chat(&[
        (User, "re-run the type check"),
        (Assistant, "Ran it. Found 219 errors in 31 files."),
        (User, "write a log of this session to log.md"),
        (Assistant, "You're right. Let me create a more accurate log:"),
        (Assistant, "```\nundefined\n```"),
    ]);
    let draft = drafted(&doc);
    assert_eq!(
        draft.open_questions,
        [
            "Still unresolved at the end: Found 219 errors in 31 files.",
            "write a log of this session to log.md (not done when the conversation ends)"
        ]
    );

    let done = chat(&[
        (User, "re-run the type check"),
        (Assistant, "Found 3 errors in 1 file."),
        (User, "fix them"),
        (Assistant, "Fixed. The check now reports 0 errors."),
    ]);
    assert!(drafted(&done).open_questions.is_empty());
}

#[test]
fn retries_are_one_question_and_the_assistants_last_real_question_stays_open() {
    use Role::*;
    let doc = chat(&[
        (User, "How should the web UI confirm actions?"),
        (Tool, "Overloaded error"),
        (User, "How should the web UI confirm actions?"),
        (
            Assistant,
            "Two options: make confirm async, or queue confirmations. Which approach do you prefer? Would you like me to sketch both?",
        ),
    ]);
    let draft = ExtractiveContextExtractor.draft(&doc, &[]);
    assert_eq!(draft.open_questions, ["Which approach do you prefer?"], "the polite closer is not a question");
    assert!(draft.content.contains("(sent 2 times)"), "{}", draft.content);
    assert!(draft.decisions.is_empty(), "a question is not a decision");
}

#[test]
fn a_request_or_missing_piece_the_last_reply_leaves_with_the_user_stays_open() {
    use Role::*;
    let ended = chat(&[
        (User, "Replace every console.print call with io.tool_error."),
        (
            Assistant,
            "I replaced the three calls. I couldn't find the `tool_error()` method in the code you added. \
             You may need to create it in the `InputOutput` class or give me the right name.",
        ),
    ]);
    let draft = drafted(&ended);
    assert_eq!(
        draft.open_questions,
        ["I couldn't find the tool_error() method in the code you added. You may need to create it in the \
             InputOutput class or give me the right name. (not answered)"]
    );

    let asked =
        "To change the scoring I need to see the game manager. Please provide the contents of `js/game_manager.js`.";
    let draft = drafted(&chat(&[(User, "Make the score double on merges."), (Assistant, asked)]));
    assert_eq!(draft.open_questions, [format!("{} (not answered)", asked.replace('`', ""))]);

    // Answered by the next message, or only offered on a condition: nothing is open.
    let answered = chat(&[
        (User, "Make the score double on merges."),
        (Assistant, asked),
        (User, "/add js/game_manager.js"),
        (User, "Here it is."),
        (Assistant, "Doubled the score on merges in `game_manager.js`."),
    ]);
    assert!(drafted(&answered).open_questions.is_empty(), "{:?}", drafted(&answered).open_questions);
    let offered = chat(&[
        (User, "Make the score double on merges."),
        (Assistant, "Done. If you want other changes, please provide the details."),
    ]);
    assert!(drafted(&offered).open_questions.is_empty(), "{:?}", drafted(&offered).open_questions);
}

#[test]
fn a_choice_the_user_passed_over_stays_open_and_an_answered_one_does_not() {
    use Role::*;
    let asked = "There are 219 type errors left in 31 files. Which area would you like me to tackle first?";
    let passed_over = chat(&[
        (User, "Run the type check."),
        (Assistant, asked),
        (
            User,
            "Write a chronological log of every change made in this conversation and save it to a new markdown file in the workspace.",
        ),
        (Assistant, "Saved the log to profile-updates.md."),
    ]);
    let draft = ExtractiveContextExtractor.draft(&passed_over, &[]);
    assert_eq!(draft.open_questions, ["Which area would you like me to tackle first? (not answered)"]);

    let answered = chat(&[
        (User, "Run the type check."),
        (Assistant, asked),
        (User, "Start with the model definitions."),
        (Assistant, "Fixed the model definitions."),
    ]);
    let draft = ExtractiveContextExtractor.draft(&answered, &[]);
    assert!(draft.open_questions.is_empty(), "{:?}", draft.open_questions);
}

#[test]
fn chat_contexts_list_the_files_mentioned_in_prose_once_each() {
    use Role::*;
    let doc = chat(&[
        (User, "Fix the bug in `src/core/Cline.ts` and update README.md, see https://example.com/a.html."),
        (Assistant, "I changed src/core/Cline.ts (and its test). Version 1.2 is fine.\n\n```sh\ncat hidden.ts\n```"),
        (Tool, "wrote output.log.txt"),
    ]);
    let draft = ExtractiveContextExtractor.draft(&doc, &[]);
    assert!(draft.content.contains("## Files mentioned\n\nsrc/core/Cline.ts, README.md\n"), "{}", draft.content);
}

#[test]
fn files_aider_edited_and_placeholder_names_are_listed() {
    use Role::*;
    let doc = chat(&[
        (User, "Save the log to profile-<datetime>.md, keep <b>bold</b> text as is"),
        (Assistant, "Done."),
        (
            Tool,
            "Added assets/css/style.css to the chat\nApplied edit to index.html\nApplied edit to /home/me/site/index.html",
        ),
    ]);
    let draft = ExtractiveContextExtractor.draft(&doc, &[]);
    assert!(
        draft.content.contains("## Files mentioned\n\nprofile-<datetime>.md, assets/css/style.css, index.html\n"),
        "{}",
        draft.content
    );
    assert_eq!(
        draft.decisions,
        ["Save the log to profile-<datetime>.md, keep bold text as is"],
        "a placeholder is kept, real HTML tags are not"
    );
}

#[test]
fn an_edit_adds_the_lines_of_its_new_side_that_it_does_not_also_remove() {
    let search_replace = "index.html\n<<<<<<< SEARCH\n  p {\n    color: #159957;\n  }\n=======\n  p {\n    color: #155799;\n    padding: 1rem;\n  }\n>>>>>>> REPLACE\n";
    assert_eq!(added_lines(search_replace), [("color: #155799;", Some("#159957;")), ("padding: 1rem;", None)]);
    let diff = "--- a/x.toml\n+++ b/x.toml\n@@ -1,2 +1,2 @@\n-port = 80\n+port = 8080\n name = \"x\"\n";
    assert_eq!(added_lines(diff), [("port = 8080", Some("80"))]);
    assert!(added_lines("fn main() {\n    println!(\"hi\");\n}\n").is_empty(), "a plain block is not an edit");
}

#[test]
fn a_decision_carried_out_by_a_style_edit_quotes_the_values_it_set() {
    use Role::*;
    let edit = "```css\n<<<<<<< SEARCH\nblockquote { color: #159957; }\n=======\nblockquote { color: #155799; }\n>>>>>>> REPLACE\n```";
    let doc = chat(&[(User, "make the blockquote blue"), (Assistant, edit)]);
    let draft = drafted(&doc);
    assert_eq!(
        draft.decisions,
        ["make the blockquote blue — sets `blockquote { color: #155799; }` (was `#159957; }`)"]
    );
}

#[test]
fn puzzlement_stays_open_until_a_reply_explains_it() {
    use Role::*;
    let puzzled = "Plot a few runs. It seems weird that it always converges from the bottom.";
    let unexplained = chat(&[
        (User, puzzled),
        (Assistant, "Here is the graph. All lines seem to converge from below."),
        (User, "add the mean"),
        (Assistant, "Here is the mean."),
    ]);
    let draft = ExtractiveContextExtractor.draft(&unexplained, &[]);
    assert_eq!(draft.open_questions, ["It seems weird that it always converges from the bottom. (not explained)"]);
    let explained = chat(&[
        (User, puzzled),
        (Assistant, "Here is the graph."),
        (User, "add the mean"),
        (Assistant, "The early average is low because small samples rarely include large distances."),
    ]);
    assert!(ExtractiveContextExtractor.draft(&explained, &[]).open_questions.is_empty());
}

#[test]
fn announcements_apologies_and_page_labels_are_not_summary_material_but_statements_with_a_colon_are() {
    for filler in [
        "Here are the changes:",
        "2. Now, let's update the main.py file to use this new Analytics object:",
        "The config needs the following:",
        "I apologize for the confusion.",
        "Advertisement - Members don't see this ad",
        "Last edited: Jul 25, 2024",
    ] {
        assert!(is_filler(filler), "{filler}");
    }
    for content in [
        "Start with a TTL of 5 minutes:",
        "The fix is to await the response:",
        "Redis is needed.",
        "Nowadays the cache holds:",
        "Advertisements paid for the first season.",
    ] {
        assert!(!is_filler(content), "{content}");
    }
}

#[test]
fn latex_math_in_replies_reads_as_plain_text_in_the_context() {
    use Role::*;
    let doc = chat(&[
        (User, "What is the average distance between x and y?"),
        (Assistant, "The average distance between \\( x \\) and \\( y \\) is \\( \\frac{1}{3} \\)."),
    ]);
    let draft = ExtractiveContextExtractor.draft(&doc, &[]);
    assert!(draft.content.contains("between x and y is 1/3."), "{}", draft.content);
    assert!(!draft.content.contains("frac"), "{}", draft.content);
}

#[test]
fn an_exchange_keeps_the_replys_concrete_conclusion() {
    use Role::*;
    let doc = chat(&[
        (User, "What is the average distance between two uniform variables?"),
        (
            Assistant,
            "Take the expectation of the absolute difference over the unit square, which is the natural way in. \
             Split the integral at the diagonal, where the absolute value changes its sign. \
             Both halves are equal by symmetry, so computing one of them and doubling it is enough. \
             The inner integral is a simple polynomial in the outer variable. \
             So the expected distance is 1/3. Would you like a simulation?",
        ),
    ]);
    let draft = ExtractiveContextExtractor.draft(&doc, &[]);
    let line = draft.content.lines().find(|l| l.contains("**User:** What is the average")).unwrap();
    assert!(line.contains("Take the expectation"), "the reply's opening: {line}");
    assert!(line.ends_with("… So the expected distance is 1/3."), "and its conclusion: {line}");
    assert!(!line.contains("Would you like"), "offers are not conclusions");
}

#[test]
fn a_reply_ending_on_a_list_of_values_concludes_with_its_last_two() {
    use Role::*;
    let doc = chat(&[
        (User, "which variables do I need?"),
        (
            Assistant,
            "You need population and home values. Use these ACS variables:\n\n\
             - B01003_001E: Total population\n- B25077_001E: Median home value\n",
        ),
    ]);
    let draft = ExtractiveContextExtractor.draft(&doc, &[]);
    let line = draft.content.lines().find(|l| l.contains("**User:** which variables")).unwrap();
    assert!(
        line.ends_with("… B01003_001E: Total population; B25077_001E: Median home value"),
        "both values of the closing list: {line}"
    );
}

#[test]
fn documents_get_outline_summary_decisions_and_open_questions() {
    let md = "# Storage design\n\nThe service stores sources, runs and revisions. Revisions keep the fetched bytes in the blob store. The database keeps their metadata and hashes.\n\n## Choices\n\nWe decided to use Postgres in production and SQLite for the embedded default. Bananas are not relevant here at all.\n\n## Open questions\n\n- How long should revisions be retained?\n- The purge schedule is TBD.\n";
    let doc = Document::new(md, DocumentFormat::Markdown);
    let draft = ExtractiveContextExtractor.draft(&doc, &[]);
    assert_eq!(draft.title.as_deref(), Some("Storage design"));
    assert_eq!(draft.outline, ["Storage design", "  Choices", "  Open questions"]);
    assert_eq!(draft.decisions, ["We decided to use Postgres in production and SQLite for the embedded default."]);
    assert_eq!(draft.open_questions, ["How long should revisions be retained?", "The purge schedule is TBD."]);
    assert!(draft.summary.as_deref().is_some_and(|s| s.contains("Revisions keep the fetched bytes")));
    assert!(draft.content.starts_with("# Storage design\n\n"));
    assert!(!draft.content.contains("Page type"), "only web pages have a kind");
}

#[test]
fn a_thread_quoting_its_posts_is_summarized_once_per_sentence_and_outlined_by_nesting() {
    let md = "# Application thread\n\n#### alice\n\nCincinnati has already sent out interview invitations for the fellowship.\n\nFound a spreadsheet of interview dates on Reddit.\n\n#### bob\n\n> Found a spreadsheet of interview dates on Reddit.\n\nThat spreadsheet of interview dates is a great find.\n\n#### carol\n\n> Found a spreadsheet of interview dates on Reddit.\n\nThe interview dates in that spreadsheet match mine.\n\n##### Edited\n\nLast edited in July.\n";
    let draft = ExtractiveContextExtractor.draft(&Document::new(md, DocumentFormat::Markdown), &[]);
    assert_eq!(draft.outline, ["Application thread", "  alice", "  bob", "  carol", "    Edited"]);
    let summary = draft.summary.unwrap_or_default();
    assert_eq!(summary.matches("Found a spreadsheet").count(), 1, "a quoted sentence is one sentence: {summary}");
    let quoted = draft.key_points.iter().filter(|point| point.starts_with("Found a spreadsheet")).count();
    assert_eq!(quoted, 0, "and is not a key point beside the summary: {:?}", draft.key_points);
}

#[test]
fn a_web_pages_context_says_what_kind_of_page_it_is() {
    let mut doc = Document::new("# Driver crash\n\nReply one.\n\nReply two.\n", DocumentFormat::Html);
    doc.page_type = Some(ctxd_domain::model::PageType::Forum);
    let draft = ExtractiveContextExtractor.draft(&doc, &[]);
    assert!(draft.content.starts_with("# Driver crash\n\nPage type: forum\n"), "{}", draft.content);
}

#[test]
fn planned_commands_left_without_a_result_are_open() {
    use Role::*;
    let plan = "Run these checks:\n\n1. **Types**\n```bash\nnpm run check-types\n```\n\
                2. **Tests**\n```bash\nnpm run test\n```\n3. **Package**\n```bash\nnpm run package\n```";
    let ran = "First the types:\n\n```\nnpm run check-types\n```\n\nNow the tests:\n\n```\nnpm run test\n```\n\n\
               The type check found 12 type errors in 3 files.";
    let doc = chat(&[(User, "Which checks should we run?"), (Assistant, plan), (User, "Go ahead."), (Assistant, ran)]);
    let open = drafted(&doc).open_questions;
    assert!(
        open.contains(
            &"Commands from the plan run with no result reported: `npm run test`; never run: `npm run package`."
                .to_owned()
        ),
        "{open:?}"
    );

    // Every command run and its outcome told: nothing left open.
    let reported = "```\nnpm run check-types\n```\n\nTypes are clean.\n\n```\nnpm run test\n```\n\nAll tests pass.\n\n\
                    ```\nnpm run package\n```\n\nThe package is built.";
    let doc =
        chat(&[(User, "Which checks should we run?"), (Assistant, plan), (User, "Go ahead."), (Assistant, reported)]);
    assert!(!drafted(&doc).open_questions.iter().any(|q| q.starts_with("Commands")));

    // A list of commands nobody ran is a suggestion, not unfinished work.
    let doc = chat(&[(User, "Which checks should we run?"), (Assistant, plan), (User, "Thanks, that is all.")]);
    assert!(!drafted(&doc).open_questions.iter().any(|q| q.starts_with("Commands")));
}

#[test]
fn a_confirmation_or_thanks_is_no_decision_and_verifies_the_one_before() {
    use Role::*;
    let doc = chat(&[
        (User, "make the ball slower"),
        (Assistant, "Halved its speed."),
        (Tool, "Applied edit to pong.py\nCommit f4ceed4 aider: Reduced ball speed by half."),
        (User, "nice, that worked!"),
        (Assistant, "Glad it works!"),
        (User, "thanks"),
        (Assistant, "You're welcome."),
    ]);
    assert_eq!(
        drafted(&doc).decisions,
        [
            "Reduced ball speed by half (commit f4ceed4) — asked: \"make the ball slower\" — confirmed working by the user"
        ]
    );
}

#[test]
fn a_bare_approval_is_decided_as_what_the_commit_or_the_reply_did() {
    use Role::*;
    let committed = chat(&[
        (User, "let's build pong"),
        (Assistant, "First the window; the paddles next."),
        (Tool, "Commit 14799cb aider: Added the game window."),
        (User, "go ahead"),
        (Assistant, "Now the paddles and the ball."),
        (Tool, "Commit b20bcee aider: Added Paddle and Ball classes."),
    ]);
    assert_eq!(drafted(&committed).decisions[1], "Added Paddle and Ball classes (commit b20bcee)");
    let talked = chat(&[
        (User, "How should we store sessions?"),
        (Assistant, "I suggest Redis with a 30 minute expiry. Should I write it up?"),
        (User, "yes do that"),
        (Assistant, "Sessions live in Redis with a 30 minute expiry, keyed by the session id."),
    ]);
    assert_eq!(
        drafted(&talked).decisions,
        ["Sessions live in Redis with a 30 minute expiry, keyed by the session id."],
        "the reply states what was decided, not the user's bare words"
    );
}

#[test]
fn pasted_reference_text_and_a_request_restated_after_a_question_decide_nothing_themselves() {
    use Role::*;
    let doc = chat(&[
        (
            User,
            "prompt_toolkit.shortcuts.prompt(message: AnyFormattedText | None = None, *, history: History | None = None, \
             vi_mode: bool | None = None)",
        ),
        (Assistant, "Thank you for the signature; prompt() takes no input argument."),
        (User, "try using create_input(StringIO('')) in the tests"),
        (Assistant, "I need more information about which test cases you want to apply this change to."),
        (User, "the ones that currently use create_pipe_input()"),
        (Assistant, "Here are the changes."),
        (Tool, "Commit 4bb043f aider: Replaced create_pipe_input() with create_input(StringIO(''))."),
    ]);
    let decisions = drafted(&doc).decisions;
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    assert!(decisions[0].starts_with("Replaced create_pipe_input() with create_input(StringIO('')) (commit 4bb043f)"));
}

#[test]
fn a_problem_a_later_change_fixed_is_not_left_open() {
    use Role::*;
    let fixed = chat(&[
        (User, "/run pytest"),
        (Tool, "1 failed"),
        (Assistant, "The test fails: 1 failed because cmd_add expects a string."),
        (User, "fix it"),
        (Assistant, "Passing a string now."),
        (Tool, "Commit 3f1c2d9 aider: Pass a str to cmd_add."),
    ]);
    assert!(drafted(&fixed).open_questions.is_empty(), "{:?}", drafted(&fixed).open_questions);
    let left = chat(&[(User, "re-run the checks"), (Assistant, "Ran them. Found 3 errors in 2 files.")]);
    assert_eq!(drafted(&left).open_questions, ["Still unresolved at the end: Found 3 errors in 2 files."]);
}

#[test]
fn an_offer_of_alternatives_the_user_never_took_up_and_a_question_whose_attempt_was_undone_stay_open() {
    use Role::*;
    let offered = chat(&[
        (User, "what could we build next?"),
        (Assistant, "Two ideas: a CLI, or a small web page. Would you like me to build the CLI or the web page?"),
    ]);
    assert_eq!(
        drafted(&offered).open_questions,
        ["Would you like me to build the CLI or the web page?"],
        "an offer of alternatives is a choice left open"
    );
    let generic = chat(&[
        (User, "what could we build next?"),
        (Assistant, "A CLI would help. Let me know if you have questions or need anything else?"),
    ]);
    assert!(drafted(&generic).open_questions.is_empty(), "a polite closer is not");

    let undone = chat(&[
        (User, "is there a better way to cache the map?"),
        (Assistant, "Yes: key it by the file mtimes."),
        (Tool, "Commit 9a8b7c6 aider: Cache the repo map by mtime."),
        (User, "/undo"),
        (Tool, "Removed: 9a8b7c6 aider: Cache the repo map by mtime."),
    ]);
    assert!(
        drafted(&undone)
            .open_questions
            .contains(&"is there a better way to cache the map? (the attempt was undone, no answer since)".to_owned()),
        "{:?}",
        drafted(&undone).open_questions
    );
}
