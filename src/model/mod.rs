//! The desired state: resources with addresses, specs and dependencies, the
//! graph they form, and the checks that run before any AWS call. No I/O here.

mod address;
pub mod cidr;
mod graph;
pub mod ignore;
mod live;
pub mod names;
pub mod provider;
pub mod regions;
mod resource;
pub mod schema;
pub mod validate;
mod value;
pub mod verifier;

pub use address::{Address, Kind};
pub use cidr::Cidr;
pub use graph::{Cycle, Graph};
pub use live::{Live, Unlisted, Unread};
pub use provider::ProviderSpec;
pub use resource::{Origin, Problem, Resource, Span, EXISTING};
pub use value::{Map, Part, Ref, Secret, Value};
