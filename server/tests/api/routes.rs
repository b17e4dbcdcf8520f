//! The addresses the server answers agree with the lists the code and the tests use: every page
//! the router serves is in `paths::PAGES`, and every state-changing server function is in the
//! list the hostile requests go to.

use crate::helpers::*;
use app::paths;
use std::collections::BTreeSet;

#[test]
fn every_state_changing_endpoint_is_attacked() {
    let registered: BTreeSet<&str> = server_fn::axum::server_fn_paths()
        .filter(|(_, method)| method == http::Method::POST)
        .map(|(path, _)| path)
        .collect();
    let listed: BTreeSet<&str> = ENDPOINTS.into_iter().collect();
    assert_eq!(registered, listed);
}

#[tokio::test]
async fn the_router_serves_exactly_the_page_addresses() {
    let routes: BTreeSet<String> = leptos_axum::generate_route_list(app::App)
        .iter()
        .map(|route| route.path().to_owned())
        .collect();
    let pages: BTreeSet<String> = paths::PAGES.iter().map(|page| (*page).to_owned()).collect();
    assert_eq!(routes, pages);
}
