//! Conversations: the last DSL of each (for follow-ups), owned by one subject in one
//! workspace, with the tokens and cost the translator spent on it (the LLM budget).

use serde::Serialize;
use sqlx::Row;

use super::{now, on_pool, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conversation {
    pub id: String,
    pub subject: String,
    pub workspace: String,
    pub created_at: String,
    pub turns: i64,
    /// The last executed DSL, as JSON text.
    pub last_dsl: Option<String>,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_usd: f64,
}

/// What one turn spent on translation.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TurnUsage {
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_usd: f64,
}

impl Store {
    /// A conversation by id, whoever owns it (callers check ownership).
    pub async fn conversation(&self, id: &str) -> Result<Option<Conversation>, StoreError> {
        self.guarded(async {
            let found: Result<Option<Conversation>, sqlx::Error> = on_pool!(self, pool => {
                match sqlx::query(
                    "SELECT id, subject, workspace, created_at, turns, last_dsl, tokens_in, \
                     tokens_out, cost_usd FROM conversations WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(pool)
                .await?
                {
                    Some(r) => Ok(Some(Conversation {
                        id: r.try_get("id")?,
                        subject: r.try_get("subject")?,
                        workspace: r.try_get("workspace")?,
                        created_at: r.try_get("created_at")?,
                        turns: r.try_get("turns")?,
                        last_dsl: r.try_get("last_dsl")?,
                        tokens_in: r.try_get("tokens_in")?,
                        tokens_out: r.try_get("tokens_out")?,
                        cost_usd: r.try_get("cost_usd")?,
                    })),
                    None => Ok(None),
                }
            });
            Ok(found?)
        })
        .await
    }

    /// Starts a conversation owned by `subject` in `workspace`.
    pub async fn create_conversation(
        &self,
        id: &str,
        subject: &str,
        workspace: &str,
    ) -> Result<Conversation, StoreError> {
        let (ts, ts_ms) = now();
        self.guarded(async {
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO conversations (id, subject, workspace, created_at, updated_ms, turns, \
             last_dsl, tokens_in, tokens_out, cost_usd) VALUES ($1, $2, $3, $4, $5, 0, NULL, 0, 0, 0)",
        )
        .bind(id)
        .bind(subject)
        .bind(workspace)
        .bind(&ts)
        .bind(ts_ms)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
        })
        .await?;
        self.sync_wal().await?;
        Ok(Conversation {
            id: id.to_string(),
            subject: subject.to_string(),
            workspace: workspace.to_string(),
            created_at: ts,
            turns: 0,
            last_dsl: None,
            tokens_in: 0,
            tokens_out: 0,
            cost_usd: 0.0,
        })
    }

    /// Records a turn: its usage always, its DSL when it produced one to follow up on.
    pub async fn record_turn(
        &self,
        id: &str,
        dsl: Option<&str>,
        usage: TurnUsage,
    ) -> Result<(), StoreError> {
        let (_, ts_ms) = now();
        self.guarded(async {
            on_pool!(self, pool => sqlx::query(
            "UPDATE conversations SET turns = turns + 1, updated_ms = $2, \
             last_dsl = COALESCE($3, last_dsl), tokens_in = tokens_in + $4, \
             tokens_out = tokens_out + $5, cost_usd = cost_usd + $6 WHERE id = $1",
        )
        .bind(id)
        .bind(ts_ms)
        .bind(dsl)
        .bind(usage.tokens_in)
        .bind(usage.tokens_out)
        .bind(usage.cost_usd)
        .execute(pool)
        .await
        .map(|_| ()))?;
            Ok(())
        })
        .await?;
        self.sync_wal().await
    }
}
