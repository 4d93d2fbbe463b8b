//! Which coordinator runs jobs. Several may serve the API; one leads. The
//! election itself lives with the servers (`squall_cluster::leader`); here
//! is only what the service needs of it: a future that resolves when this
//! process is elected, the fenced store to write with from then on, and a
//! token that fires when leadership is lost.

use std::sync::{Arc, RwLock};

use futures::future::BoxFuture;
use squall_common::checkpoint::SharedCheckpointStore;
use tokio_util::sync::CancellationToken;

use crate::run::ClusterSeams;

/// What winning the election gives.
pub struct Elected {
    /// The store whose writes hold only while this leadership lasts.
    pub store: SharedCheckpointStore,
    /// Fires when leadership is lost (lease expired): stop at once.
    pub lost: CancellationToken,
    /// Hands leadership over on a graceful stop.
    pub resign: BoxFuture<'static, ()>,
}

/// The campaign: resolves once this coordinator is elected (`Ok(None)`:
/// cancelled; `Err`: the election could not run).
pub type Campaign = BoxFuture<'static, Result<Option<Elected>, String>>;

/// The seams jobs run with: `None` while this coordinator is a standby.
#[derive(Clone, Default)]
pub struct Leading(Arc<RwLock<Option<ClusterSeams>>>);

impl Leading {
    pub fn get(&self) -> Option<ClusterSeams> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set(&self, seams: ClusterSeams) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Some(seams);
    }

    pub fn is_leader(&self) -> bool {
        self.get().is_some()
    }
}
