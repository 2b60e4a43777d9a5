//! SQLite storage of a Durable Object, with one rule: every state change and the audit event that
//! describes it are written by ONE [`WriteBatch`] committed through `transactionSync`, so both land
//! or neither does (docs/design.md invariant 1).
//!
//! Reads run directly; writes are collected as owned statements first, which keeps the commit
//! closure `'static` and the decision code free of storage calls.

use serde::de::DeserializeOwned;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use worker::{SqlStorage, SqlStorageValue, Storage};

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite (or the runtime) refused a statement.
    #[error("storage error: {0}")]
    Sql(String),
    /// A row did not have the expected shape.
    #[error("storage row decode error: {0}")]
    Decode(String),
}

impl From<worker::Error> for DbError {
    fn from(e: worker::Error) -> Self {
        DbError::Sql(e.to_string())
    }
}

/// One SQL statement with its positional `?` bindings.
#[derive(Debug, Clone)]
pub struct Statement {
    sql: String,
    bindings: Vec<SqlStorageValue>,
}

/// Statements that must commit together.
#[derive(Debug, Default, Clone)]
pub struct WriteBatch {
    statements: Vec<Statement>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a statement.
    pub fn push(&mut self, sql: impl Into<String>, bindings: Vec<SqlStorageValue>) -> &mut Self {
        self.statements.push(Statement {
            sql: sql.into(),
            bindings,
        });
        self
    }

    /// Appends every statement of another batch.
    pub fn extend(&mut self, other: WriteBatch) -> &mut Self {
        self.statements.extend(other.statements);
        self
    }

    /// Whether the batch holds no statement.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }
}

/// A Durable Object's SQLite database.
#[derive(Debug, Clone)]
pub struct Db {
    sql: SqlStorage,
    raw: JsValue,
}

impl Db {
    /// Wraps the object's storage.
    pub fn new(storage: &Storage) -> Self {
        let raw: &JsValue = storage.as_raw().as_ref();
        Self {
            sql: storage.sql(),
            raw: raw.clone(),
        }
    }

    /// Runs one statement outside any batch (schema creation, reads).
    ///
    /// # Errors
    /// [`DbError::Sql`] when SQLite refuses it.
    pub fn exec(&self, sql: &str, bindings: Vec<SqlStorageValue>) -> Result<(), DbError> {
        self.sql.exec(sql, bindings)?;
        Ok(())
    }

    /// Reads rows into serde structs (column names are field names).
    ///
    /// # Errors
    /// [`DbError`] when the query fails or a row does not decode.
    pub fn rows<T: DeserializeOwned>(
        &self,
        sql: &str,
        bindings: Vec<SqlStorageValue>,
    ) -> Result<Vec<T>, DbError> {
        let cursor = self.sql.exec(sql, bindings)?;
        cursor
            .to_array::<T>()
            .map_err(|e| DbError::Decode(e.to_string()))
    }

    /// Reads at most one row.
    ///
    /// # Errors
    /// [`DbError`] when the query fails or the row does not decode.
    pub fn row<T: DeserializeOwned>(
        &self,
        sql: &str,
        bindings: Vec<SqlStorageValue>,
    ) -> Result<Option<T>, DbError> {
        Ok(self.rows(sql, bindings)?.into_iter().next())
    }

    /// Commits every statement of the batch atomically (`storage.transactionSync`): on any
    /// failure SQLite rolls all of them back.
    ///
    /// # Errors
    /// [`DbError::Sql`] with the failing statement's message; nothing was written.
    pub fn commit(&self, batch: WriteBatch) -> Result<(), DbError> {
        if batch.is_empty() {
            return Ok(());
        }
        let func = js_sys::Reflect::get(&self.raw, &JsValue::from_str("transactionSync"))
            .map_err(|e| DbError::Sql(format!("transactionSync unavailable: {e:?}")))?
            .dyn_into::<js_sys::Function>()
            .map_err(|_| DbError::Sql("transactionSync is not a function".into()))?;
        let sql = self.sql.clone();
        let statements = batch.statements;
        let body = Closure::once(move || -> Result<(), JsValue> {
            for st in statements {
                sql.exec(&st.sql, st.bindings).map_err(|e| {
                    JsValue::from(js_sys::Error::new(&format!("{e} in `{}`", st.sql)))
                })?;
            }
            Ok(())
        });
        func.call1(&self.raw, body.as_ref().unchecked_ref())
            .map_err(|e| {
                let msg = e
                    .dyn_ref::<js_sys::Error>()
                    .map(|err| String::from(err.message()))
                    .unwrap_or_else(|| format!("{e:?}"));
                DbError::Sql(msg)
            })?;
        Ok(())
    }
}

/// Shorthand for a text binding.
pub fn text(v: impl Into<String>) -> SqlStorageValue {
    SqlStorageValue::String(v.into())
}

/// Shorthand for an integer binding (values outside JS's safe range are stored as text by callers).
pub fn int(v: i64) -> SqlStorageValue {
    SqlStorageValue::Integer(v)
}
