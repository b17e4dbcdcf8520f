//! Validated values. Each type can only hold a well-formed value; its `parse` says precisely what
//! is wrong otherwise. None of this knows about HTTP, Leptos or the database.

mod code;
mod email;
mod invisible;
mod name;
mod password;
mod phone;

pub use code::{CodeScope, VerificationCode};
pub use email::Email;
pub use name::PersonName;
pub use password::Password;
pub use phone::{LineType, PhoneNumber, PhoneRegion};
