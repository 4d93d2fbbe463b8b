//! Store metadata from PD, cached by id. The cache is invalidated when a call
//! to the store fails at the transport level, so a store that moved is looked
//! up again (Lightning cached addresses forever).

use std::collections::HashMap;
use std::sync::Mutex;

use squall_proto::{metapb, pdpb};

use super::PdClient;
use crate::error::ClientError;

#[derive(Default)]
pub(super) struct StoreCache {
    stores: Mutex<HashMap<u64, metapb::Store>>,
}

impl StoreCache {
    fn get(&self, id: u64) -> Option<metapb::Store> {
        self.stores
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned()
    }

    fn put(&self, store: metapb::Store) {
        self.stores
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(store.id, store);
    }

    fn remove(&self, id: u64) {
        self.stores
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }
}

impl PdClient {
    /// Store `id`, from the cache or PD.
    pub async fn get_store(&self, id: u64) -> Result<metapb::Store, ClientError> {
        if let Some(store) = self.inner.stores.get(id) {
            return Ok(store);
        }
        let resp = self
            .call("PD GetStore", |mut c, header| async move {
                c.get_store(pdpb::GetStoreRequest {
                    header,
                    store_id: id,
                })
                .await
            })
            .await?;
        let store = resp
            .store
            .filter(|s| s.id == id)
            .ok_or(ClientError::StoreNotFound { store_id: id })?;
        self.inner.stores.put(store.clone());
        Ok(store)
    }

    /// Every store that is not a tombstone; refreshes the cache.
    pub async fn get_all_stores(&self) -> Result<Vec<metapb::Store>, ClientError> {
        let resp = self
            .call("PD GetAllStores", |mut c, header| async move {
                c.get_all_stores(pdpb::GetAllStoresRequest {
                    header,
                    exclude_tombstone_stores: true,
                })
                .await
            })
            .await?;
        let stores: Vec<_> = resp
            .stores
            .into_iter()
            .filter(|s| s.state != metapb::StoreState::Tombstone as i32)
            .collect();
        for store in &stores {
            self.inner.stores.put(store.clone());
        }
        Ok(stores)
    }

    /// The address to reach store `id`'s gRPC services.
    pub async fn store_address(&self, id: u64) -> Result<String, ClientError> {
        Ok(service_address(&self.get_store(id).await?))
    }

    /// Forgets store `id` so the next lookup asks PD.
    pub fn invalidate_store(&self, id: u64) {
        self.inner.stores.remove(id);
    }
}

/// TiKV serves import and KV RPCs on `address`; TiFlash serves its import
/// service on the raft `peer_address` (as Lightning does).
pub fn service_address(store: &metapb::Store) -> String {
    let is_tiflash = store
        .labels
        .iter()
        .any(|l| l.key == "engine" && l.value == "tiflash");
    if is_tiflash && !store.peer_address.is_empty() {
        store.peer_address.clone()
    } else {
        store.address.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiflash_uses_peer_address() {
        let mut store = metapb::Store {
            id: 1,
            address: "a:20160".into(),
            peer_address: "a:20170".into(),
            ..Default::default()
        };
        assert_eq!(service_address(&store), "a:20160");
        store.labels.push(metapb::StoreLabel {
            key: "engine".into(),
            value: "tiflash".into(),
        });
        assert_eq!(service_address(&store), "a:20170");
    }

    #[test]
    fn cache_forgets_invalidated_stores() {
        let cache = StoreCache::default();
        cache.put(metapb::Store {
            id: 4,
            ..Default::default()
        });
        assert!(cache.get(4).is_some());
        cache.remove(4);
        assert!(cache.get(4).is_none());
    }
}
