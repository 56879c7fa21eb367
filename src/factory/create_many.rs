//! Concurrent construction: [`Registry::create_many`] makes several products at once, on the
//! calling task, through [`gather`]. Its doc (rendered by rustdoc) says what a limit costs.

use super::{FactoryError, Registry};
use crate::basics::gather;

impl<P: ?Sized + 'static, C: 'static> Registry<P, C> {
    /// Make several products concurrently, at most `limit` at a time (`None`: all at once;
    /// `Some(0)` is taken as 1).
    ///
    /// One result per request, in request order; a failure, a panic or a timeout costs only
    /// its own slot. Each construction is one [`create`](Registry::create) future, run with
    /// [`gather::all_at_once`] or [`gather::bounded`]: six devices whose handshakes take 50 to
    /// 150 ms are ready in about 150 ms, the slowest, not the sum of all six.
    ///
    /// A limit costs more than the arithmetic suggests. Two slots over light (50 ms), speaker
    /// (80 ms) and toilet (150 ms) end at 200 ms: the toilet waits for the light's slot. And
    /// since results stay in request order, a construction that finishes early keeps its slot
    /// until the ones ahead of it are done, so a later one starts late (the `factory` example
    /// draws it).
    ///
    /// Nothing is spawned: the constructions run on the calling task, concurrently but not in
    /// parallel, which is what waiting on handshakes needs; dropping the future drops every
    /// construction still pending.
    pub async fn create_many<K, I>(
        &self,
        requests: I,
        limit: Option<usize>,
    ) -> Vec<Result<Box<P>, FactoryError>>
    where
        K: AsRef<str>,
        I: IntoIterator<Item = (K, C)>,
    {
        let calls: Vec<_> = requests
            .into_iter()
            .map(|(kind, config)| async move { self.create(kind.as_ref(), config).await })
            .collect();
        match limit {
            None => gather::all_at_once(calls).await,
            Some(limit) => gather::bounded(calls, limit).await,
        }
    }
}
