//! What the SQL backends share: migration bookkeeping and the conversion between records
//! and the flat rows both SQLite and PostgreSQL store. Drivers differ; data does not.

pub(crate) mod migrate;
pub(crate) mod rows;
