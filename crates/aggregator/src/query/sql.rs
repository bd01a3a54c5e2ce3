//! SQL text with bound values, kept apart until the statement is rendered for its backend: user
//! text only ever travels as a bound value, never inside the SQL string.

use sea_orm::{DatabaseBackend, Statement, Value};

/// One piece of a statement.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    /// SQL written by the compiler (never user text).
    Sql(String),
    /// A value bound to a placeholder.
    Value(Value),
}

/// A piece of SQL with its bound values; fragments can be reused, each use binds its values again.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fragment {
    parts: Vec<Part>,
}

impl Fragment {
    /// An empty fragment.
    pub fn new() -> Self {
        Self::default()
    }

    /// A fragment of compiler-written SQL.
    pub fn sql(text: impl Into<String>) -> Self {
        let mut fragment = Self::new();
        fragment.push_sql(text);
        fragment
    }

    /// A fragment that is just one bound value.
    pub fn value(value: impl Into<Value>) -> Self {
        let mut fragment = Self::new();
        fragment.push_value(value);
        fragment
    }

    /// Appends compiler-written SQL.
    pub fn push_sql(&mut self, text: impl Into<String>) -> &mut Self {
        let text = text.into();
        if let Some(Part::Sql(last)) = self.parts.last_mut() {
            last.push_str(&text);
        } else {
            self.parts.push(Part::Sql(text));
        }
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn push_value(&mut self, value: impl Into<Value>) -> &mut Self {
        self.parts.push(Part::Value(value.into()));
        self
    }

    /// Appends another fragment.
    pub fn push(&mut self, other: &Fragment) -> &mut Self {
        for part in &other.parts {
            match part {
                Part::Sql(text) => {
                    self.push_sql(text.clone());
                }
                Part::Value(value) => {
                    self.push_value(value.clone());
                }
            }
        }
        self
    }

    /// Appends `fragments` separated by `separator`.
    pub fn push_joined<'a>(
        &mut self,
        fragments: impl IntoIterator<Item = &'a Fragment>,
        separator: &str,
    ) -> &mut Self {
        for (index, fragment) in fragments.into_iter().enumerate() {
            if index > 0 {
                self.push_sql(separator);
            }
            self.push(fragment);
        }
        self
    }

    /// `fragments` joined by `separator` and wrapped in parentheses; `empty` when there are none.
    pub fn joined(fragments: &[Fragment], separator: &str, empty: &str) -> Fragment {
        if fragments.is_empty() {
            return Fragment::sql(empty);
        }
        let mut joined = Fragment::sql("(");
        joined.push_joined(fragments, separator);
        joined.push_sql(")");
        joined
    }

    /// Renders the statement for `backend`: `?` placeholders for SQLite, `$1, $2, ...` for
    /// PostgreSQL.
    pub fn render(&self, backend: DatabaseBackend) -> Statement {
        let mut sql = String::new();
        let mut values = Vec::new();
        for part in &self.parts {
            match part {
                Part::Sql(text) => sql.push_str(text),
                Part::Value(value) => {
                    values.push(value.clone());
                    match backend {
                        DatabaseBackend::Postgres => {
                            sql.push('$');
                            sql.push_str(&values.len().to_string());
                        }
                        _ => sql.push('?'),
                    }
                }
            }
        }
        Statement::from_sql_and_values(backend, sql, values)
    }
}

/// A macro-free way to build fragments from mixed parts: `cat(&[a, Fragment::sql(" AND "), b])`.
pub fn cat(parts: &[Fragment]) -> Fragment {
    let mut fragment = Fragment::new();
    for part in parts {
        fragment.push(part);
    }
    fragment
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_backend_and_fragments_rebind_on_reuse() {
        let mut condition = Fragment::sql("a = ");
        condition
            .push_value("x")
            .push_sql(" AND b < ")
            .push_value(5_i64);
        let mut statement = Fragment::sql("SELECT 1 WHERE ");
        statement.push(&condition).push_sql(" OR ").push(&condition);
        let sqlite = statement.render(DatabaseBackend::Sqlite);
        assert_eq!(
            sqlite.sql,
            "SELECT 1 WHERE a = ? AND b < ? OR a = ? AND b < ?"
        );
        let postgres = statement.render(DatabaseBackend::Postgres);
        assert_eq!(
            postgres.sql,
            "SELECT 1 WHERE a = $1 AND b < $2 OR a = $3 AND b < $4"
        );
        assert_eq!(postgres.values.map(|values| values.0.len()), Some(4));
    }

    #[test]
    fn joined_handles_empty_lists() {
        assert_eq!(
            Fragment::joined(&[], " AND ", "TRUE")
                .render(DatabaseBackend::Sqlite)
                .sql,
            "TRUE"
        );
        let parts = [Fragment::sql("a"), Fragment::sql("b")];
        assert_eq!(
            Fragment::joined(&parts, " OR ", "FALSE")
                .render(DatabaseBackend::Sqlite)
                .sql,
            "(a OR b)"
        );
    }
}
