//! One SQLite connection on its own thread, driven through a channel.
//!
//! rusqlite is blocking, so each connection lives on a dedicated thread and async callers
//! send it closures and await the answer. The writer worker is the only connection that
//! writes, which makes SQLite's one-writer rule a property of the code, not a lock wait.

use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::error::StorageError;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// A connection on its own thread. The thread ends when the last handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Worker {
    jobs: mpsc::Sender<Job>,
}

impl Worker {
    pub(super) fn start(mut conn: Connection, name: &str) -> Result<Self, StorageError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                while let Ok(job) = queue.recv() {
                    job(&mut conn);
                }
            })
            .map_err(|_| StorageError::Unavailable("sqlite thread could not start"))?;
        Ok(Self { jobs })
    }

    /// Runs `f` on the connection's thread.
    pub(super) async fn call<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StorageError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            // The caller may have gone away; its answer is then not needed.
            let _ = tx.send(f(conn));
        });
        self.jobs
            .send(job)
            .map_err(|_| StorageError::Unavailable("sqlite worker stopped"))?;
        rx.await
            .map_err(|_| StorageError::Unavailable("sqlite worker stopped"))?
    }
}
