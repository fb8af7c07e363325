//! What sessions ask for: calls, call-center queues, the transparent channel (relay), meeting
//! rooms, and meetings kept in the durable store.

pub mod calls;
pub mod meetings;
pub mod netdisk;
pub mod queues;
pub mod relay;
pub mod rooms;
