//! sea-orm entities, one per table. They never leave this crate: repositories convert
//! them to domain types at the edge.

macro_rules! no_relations {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub mod users {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        pub plan: String,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod api_keys {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "api_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: Uuid,
        pub name: Option<String>,
        pub key_prefix: String,
        pub key_hash: String,
        pub expiration_date: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub revoked_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod spaces {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "spaces")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: Uuid,
        pub name: String,
        pub description: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        /// Set by a delete; the row goes once the purge removed its sources.
        pub deleted_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod collections {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "collections")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub space_id: Uuid,
        pub user_id: Uuid,
        pub parent_id: Option<Uuid>,
        pub name: String,
        pub description: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod uploads {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "uploads")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub file_key: String,
        pub user_id: Uuid,
        pub filename: String,
        pub content_type: String,
        pub size: i64,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod sources {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "sources")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: Uuid,
        pub space_id: Uuid,
        pub collection_id: Option<Uuid>,
        pub r#type: String,
        pub name: Option<String>,
        pub description: Option<String>,
        pub status: String,
        pub message: Option<String>,
        pub initial_data: Json,
        pub postback_url: Option<String>,
        pub run_context_extraction: bool,
        pub run_artifact_extraction: bool,
        pub refresh_mode: String,
        pub refresh_interval_seconds: Option<i64>,
        pub next_refresh_at_ms: Option<i64>,
        pub pinned: bool,
        pub deleted_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub revision: Option<i32>,
        pub content_hash: Option<String>,
        pub last_fetched_at: Option<DateTimeUtc>,
        pub last_run_id: Option<Uuid>,
        pub original_tokens: Option<i64>,
        pub context_tokens: Option<i64>,
        pub artifact_count: Option<i64>,
    }
    no_relations!();
}

pub mod runs {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "runs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub source_id: Uuid,
        pub user_id: Uuid,
        pub kind: String,
        pub status: String,
        pub outcome: Option<String>,
        pub run_context_extraction: bool,
        pub run_artifact_extraction: bool,
        pub force: bool,
        pub update_existing: bool,
        pub input: Option<Json>,
        pub attempt: i32,
        pub error: Option<String>,
        pub cancel_requested: bool,
        pub queued_at: DateTimeUtc,
        pub started_at: Option<DateTimeUtc>,
        pub finished_at: Option<DateTimeUtc>,
        pub timings: Json,
        pub locked_by: Option<String>,
        pub locked_until_ms: Option<i64>,
        pub available_at_ms: i64,
    }
    no_relations!();
}

pub mod revisions {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "revisions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub source_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub number: i32,
        pub content_hash: String,
        pub fetched_at: DateTimeUtc,
        pub http: Json,
        pub bytes: i64,
        pub extractor_version: String,
        /// `{"page_type": ...}`; NULL on revisions made before it was recorded.
        pub metadata: Option<Json>,
    }
    no_relations!();
}

pub mod contexts {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "contexts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub source_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub revision: i32,
        pub extractor_version: String,
        pub content: String,
        pub title: Option<String>,
        pub summary: Option<String>,
        pub outline: Json,
        pub key_points: Json,
        pub decisions: Json,
        pub open_questions: Json,
        pub original_tokens: i64,
        pub context_tokens: i64,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod artifacts {
    use sea_orm::entity::prelude::*;

    /// On Postgres the table also has a generated `search` tsvector, which this model
    /// leaves out: the database fills it.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "artifacts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub source_id: Uuid,
        pub space_id: Uuid,
        pub user_id: Uuid,
        pub revision: i32,
        pub kind: String,
        pub language: Option<String>,
        pub title: Option<String>,
        pub content: String,
        pub metadata: Json,
        pub start_line: i32,
        pub end_line: i32,
        pub turn: Option<i32>,
        pub content_hash: String,
        pub active: bool,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod postback_secrets {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "postback_secrets")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        pub secret: String,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod postback_outbox {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "postback_outbox")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: Uuid,
        pub source_id: Uuid,
        pub url: String,
        pub payload: Json,
        pub status: String,
        pub attempts: i32,
        pub next_attempt_at_ms: i64,
        pub last_error: Option<String>,
        pub created_at: DateTimeUtc,
        pub delivered_at: Option<DateTimeUtc>,
        pub last_status_code: Option<i32>,
    }
    no_relations!();
}

pub mod idempotency_keys {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub request_hash: String,
        pub status_code: i32,
        pub response_body: Option<String>,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod composition_members {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "composition_members")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub composition_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub position: i32,
        pub member_id: Uuid,
    }
    no_relations!();
}

pub mod pending_rebuilds {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "pending_rebuilds")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub source_id: Uuid,
        pub requested_at_ms: i64,
    }
    no_relations!();
}
