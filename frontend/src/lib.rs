//! The wasm entry point: hydrates the islands of the server-rendered page (the `#[island]`
//! components of the `app` crate) and starts the client-side navigation between pages
//! (`app::navigation`).

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // The islands register themselves from the `app` crate; this keeps it linked in.
    #[allow(unused_imports)]
    use app::islands::*;
    // Readable panic messages in the browser console, in debug builds; release builds abort on
    // panic and leave the formatting code out of the wasm.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    app::navigation::start();
}
