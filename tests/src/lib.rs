//! Integration test helpers: find the `squall` binary, pick free ports, spawn
//! real server processes and wait until they answer.
