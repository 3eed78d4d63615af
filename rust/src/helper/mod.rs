//! The commit helper process: the JVM side supervises it, the child side runs librdkafka.

pub mod server;
