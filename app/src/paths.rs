//! Page addresses, built in one place so every link and redirect agrees. They carry no
//! messages, emails or phone endings: what a page is told comes in its flash (`crate::flash`).

pub const HOME: &str = "/";
pub const ACCOUNT: &str = "/account";
pub const LOGIN: &str = "/login";
pub const SIGNUP: &str = "/signup";
pub const UNLOCK: &str = "/unlock";
/// The unlock page asking for an email, though this browser remembers one.
pub const UNLOCK_OTHER: &str = "/unlock?account=other";
pub const FORGOT_PASSWORD: &str = "/forgot-password";
pub const RESET_PASSWORD: &str = "/reset-password";
pub const VERIFY_PHONE: &str = "/verify-phone";
pub const SIGN_IN_CODE: &str = "/sign-in-code";
pub const CHANGE_PHONE: &str = "/account/phone";
/// The second step of a phone change: the code sent to the new number.
pub const CHANGE_PHONE_CODE: &str = "/account/phone?step=code";
pub const ADMIN: &str = "/admin";
pub const ADMIN_ACCOUNT: &str = "/admin/account";

/// Every page's address, as the router serves it; a test of the server's suite checks that the
/// router serves exactly these.
pub const PAGES: [&str; 12] = [
    HOME,
    SIGNUP,
    LOGIN,
    UNLOCK,
    FORGOT_PASSWORD,
    RESET_PASSWORD,
    VERIFY_PHONE,
    SIGN_IN_CODE,
    ACCOUNT,
    CHANGE_PHONE,
    ADMIN,
    ADMIN_ACCOUNT,
];

/// One account in the admin area.
pub fn admin_account(id: i64) -> String {
    format!("{ADMIN_ACCOUNT}?id={id}")
}

/// The admin area with the results of a search for `query`.
pub fn admin_search(query: &str) -> String {
    format!("{ADMIN}?q={}", encode_component(query))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn encode_component(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                encoded.push(byte as char)
            }
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_is_percent_encoded_in_its_address() {
        assert_eq!(
            admin_search("a+b@example.com"),
            "/admin?q=a%2Bb%40example.com"
        );
    }
}
