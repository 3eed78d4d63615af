//! librdkafka runs in a helper process, never in the caller's: an `abort()` from one of its
//! assertions, a segmentation fault or an out-of-memory kill ends the helper, and the supervisor
//! restarts it; the engine, which owns every request, hands the lost ones' offsets to the new
//! helper. The helper is built from this crate (`src/bin/kafka-offset-committer-helper.rs`) and
//! shipped beside the JNI library.

pub mod executable;
mod launch;
mod os;
mod process;
pub mod protocol;
mod restart;
pub mod server;
pub(crate) mod supervisor;

pub use executable::{install_image, use_executable};
