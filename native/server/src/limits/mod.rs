//! What one client may take, and how it shares with the others: the
//! connections of one address (IPv6: one /64, trusted addresses apart),
//! delays after failed logins, upload quotas without a login, and fair
//! turns at heavy work (prefix hashing).

mod fair;
mod per_address;
pub mod quota;
mod throttle;

pub use fair::FairPool;
pub use per_address::{PerAddress, Ticket};
pub use quota::{Allowance, Quotas};
pub use throttle::Throttle;
