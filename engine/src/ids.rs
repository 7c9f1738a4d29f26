//! Identities that travel through the engine, metrics, admin views and audit.
//!
//! Providers, deployments and model groups are numbered densely at start-up (so tables can be
//! indexed by them) and are unique across the whole gateway, not within one provider. Their
//! names travel beside them where a label is needed (see `routing::Lease`), never through a
//! parallel array. Key ids are the storage crate's, re-exported here.

use std::fmt;

pub use portcullis_storage::KeyId;

macro_rules! dense_id {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $inner);

        impl $name {
            /// The position in the gateway's tables.
            pub fn index(self) -> usize {
                self.0 as usize
            }

            /// The id at `index`; saturates (tables never get that large).
            pub fn from_index(index: usize) -> Self {
                Self(<$inner>::try_from(index).unwrap_or(<$inner>::MAX))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

dense_id!(
    /// A configured provider, in config order.
    ProviderId(u16)
);
dense_id!(
    /// A deployment (a provider serving one model for one group), unique gateway-wide.
    DeploymentId(u32)
);
dense_id!(
    /// A model group (the public model name clients ask for), in config order.
    GroupId(u32)
);

/// One client request, as logged and returned in `x-request-id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId(pub u64);

impl RequestId {
    /// A fresh random id.
    pub fn random() -> Self {
        Self(fastrand::u64(..))
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_print_as_sixteen_hex_digits() {
        assert_eq!(RequestId(0xab).to_string(), "00000000000000ab");
    }

    #[test]
    fn dense_ids_round_trip_their_index() {
        assert_eq!(DeploymentId::from_index(7).index(), 7);
        assert_eq!(ProviderId::from_index(1 << 20), ProviderId(u16::MAX));
    }
}
