//! Moving between pages once the wasm runs, without loading a new document.
//!
//! A click on a link to another page of this site, Back and Forward, and a form's "go on" answer
//! fetch the next page's server-rendered HTML, put its body in place of the current one, and
//! hydrate its islands. Each page's islands live under a reactive owner of their own, cleaned up
//! when the page is left: a pending WebOTP request is aborted and timers stop, as on a page load.
//!
//! Anything unusual falls back to an ordinary page load: a link with a `target`, `download` or
//! `rel="external"`, a modified click, another origin, an answer that is not HTML, a failed fetch.
//! Without JavaScript none of this runs and links are links.

/// Opens `url` (a path of this site, or an absolute URL): through the client-side navigation once
/// it runs, else with an ordinary page load.
pub fn go(url: &str) {
    #[cfg(feature = "hydrate")]
    browser::go(url);
    #[cfg(not(feature = "hydrate"))]
    let _ = url;
}

/// Starts intercepting link clicks and history moves; called once, after the islands' root owner
/// is in place and before the first page's islands hydrate.
#[cfg(feature = "hydrate")]
pub fn start() {
    browser::start();
}

#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::*;
    use leptos::wasm_bindgen::{closure::Closure, JsCast, JsValue};
    use std::cell::{Cell, RefCell};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{
        DomParser, Element, Event, HtmlElement, MouseEvent, Response, SupportedType, Url,
    };

    /// Whether a navigation adds a history entry or replaces the current one (Back, Forward).
    #[derive(Clone, Copy)]
    enum History {
        Push,
        Replace,
    }

    thread_local! {
        /// The owner every page owner is a child of.
        static ROOT: RefCell<Option<Owner>> = const { RefCell::new(None) };
        /// The owner of the shown page's islands.
        static PAGE: RefCell<Option<Owner>> = const { RefCell::new(None) };
        /// Counts navigations, so that a slow answer to an earlier one is dropped.
        static LATEST: Cell<u64> = const { Cell::new(0) };
        /// Path and query of the page shown, to tell a move within it (`#section`) from a move
        /// to another page.
        static SHOWN: RefCell<String> = const { RefCell::new(String::new()) };
    }

    pub fn start() {
        let Some(root) = Owner::current() else {
            return;
        };
        let page = root.child();
        page.set();
        ROOT.with_borrow_mut(|slot| *slot = Some(root));
        PAGE.with_borrow_mut(|slot| *slot = Some(page));
        SHOWN.with_borrow_mut(|shown| {
            *shown = page_key(&window().location().href().unwrap_or_default())
        });

        let on_click = Closure::<dyn FnMut(MouseEvent)>::new(on_click);
        let on_popstate = Closure::<dyn FnMut(Event)>::new(|_: Event| on_popstate());
        let window = window();
        let _ = window.add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref());
        let _ = window
            .add_event_listener_with_callback("popstate", on_popstate.as_ref().unchecked_ref());
        // Both listen for the life of the document.
        on_click.forget();
        on_popstate.forget();
    }

    pub fn go(url: &str) {
        if ROOT.with_borrow(Option::is_none) {
            let _ = window().location().set_href(url);
            return;
        }
        let url = absolute(url);
        leptos::task::spawn_local(navigate(url, History::Push));
    }

    fn on_click(event: MouseEvent) {
        if event.default_prevented()
            || event.button() != 0
            || event.meta_key()
            || event.ctrl_key()
            || event.shift_key()
            || event.alt_key()
        {
            return;
        }
        let Some(link) = event
            .target()
            .and_then(|target| target.dyn_into::<Element>().ok())
            .and_then(|element| element.closest("a[href]").ok().flatten())
        else {
            return;
        };
        let opens_elsewhere = link.get_attribute("target").is_some_and(|t| !t.is_empty())
            || link.has_attribute("download")
            || link
                .get_attribute("rel")
                .is_some_and(|rel| rel.split_ascii_whitespace().any(|r| r == "external"));
        if opens_elsewhere {
            return;
        }
        let href = link.get_attribute("href").unwrap_or_default();
        let url = absolute(&href);
        let Ok(parsed) = Url::new(&url) else {
            return;
        };
        let location = window().location();
        if parsed.origin() != location.origin().unwrap_or_default() {
            return;
        }
        // A move within the shown page (`#section`) is the browser's.
        if page_key(&url) == SHOWN.with_borrow(Clone::clone) && !parsed.hash().is_empty() {
            return;
        }
        event.prevent_default();
        leptos::task::spawn_local(navigate(url, History::Push));
    }

    fn on_popstate() {
        let url = window().location().href().unwrap_or_default();
        if page_key(&url) == SHOWN.with_borrow(Clone::clone) {
            return;
        }
        leptos::task::spawn_local(navigate(url, History::Replace));
    }

    /// Fetches `url` and shows it in place of the current page; on anything unexpected, loads it
    /// as a new document instead.
    async fn navigate(url: String, history: History) {
        let navigation = LATEST.with(|latest| {
            latest.set(latest.get() + 1);
            latest.get()
        });
        let page = fetch_page(&url).await;
        if LATEST.with(Cell::get) != navigation {
            return;
        }
        match page {
            Ok(Some((final_url, html))) => {
                if show(&html, &final_url, &url, history).is_err() {
                    let _ = window().location().set_href(&url);
                }
            }
            Ok(None) | Err(_) => {
                let _ = window().location().set_href(&url);
            }
        }
    }

    /// The page's address after redirects and its HTML, or `None` when the answer is not a page.
    async fn fetch_page(url: &str) -> Result<Option<(String, String)>, JsValue> {
        let response: Response = JsFuture::from(window().fetch_with_str(url))
            .await?
            .dyn_into()?;
        let is_html = response
            .headers()
            .get("content-type")?
            .is_some_and(|kind| kind.starts_with("text/html"));
        if !is_html {
            return Ok(None);
        }
        let html = JsFuture::from(response.text()?)
            .await?
            .as_string()
            .unwrap_or_default();
        Ok(Some((response.url(), html)))
    }

    fn show(html: &str, final_url: &str, asked: &str, history: History) -> Result<(), JsValue> {
        let next = DomParser::new()?.parse_from_string(html, SupportedType::TextHtml)?;
        let document = document();
        let (Some(body), Some(next_body)) = (document.body(), next.body()) else {
            return Err(JsValue::NULL);
        };

        // The page being left: its islands' effects, timers and WebOTP request end here.
        let page = ROOT.with_borrow(|root| root.as_ref().map(Owner::child));
        if let Some(left) = PAGE.with_borrow_mut(|slot| slot.take()) {
            left.cleanup();
        }

        // A redirect's address is the page's; otherwise the address asked for, with its `#`.
        let shown_url = if page_key(final_url) == page_key(asked) {
            asked
        } else {
            final_url
        };
        let history_api = window().history()?;
        match history {
            History::Push => {
                history_api.push_state_with_url(&JsValue::NULL, "", Some(shown_url))?
            }
            History::Replace => {
                history_api.replace_state_with_url(&JsValue::NULL, "", Some(shown_url))?
            }
        }
        SHOWN.with_borrow_mut(|shown| *shown = page_key(shown_url));
        document.set_title(&next.title());
        body.replace_with_with_node_1(&next_body)?;

        if let Some(page) = page {
            page.set();
            hydrate_islands(&next_body);
            PAGE.with_borrow_mut(|slot| *slot = Some(page));
        }
        settle(&document, shown_url);
        Ok(())
    }

    /// Hydrates every island of the new body, through the function the islands' loader script
    /// provides (`window.__hydrateIsland`), under the current (the new page's) owner.
    fn hydrate_islands(body: &HtmlElement) {
        let Ok(hydrate) = js_sys::Reflect::get(&window(), &JsValue::from_str("__hydrateIsland"))
            .and_then(|value| value.dyn_into::<js_sys::Function>())
        else {
            return;
        };
        let Ok(islands) = body.query_selector_all("leptos-island") else {
            return;
        };
        for index in 0..islands.length() {
            let Some(island) = islands.item(index) else {
                continue;
            };
            let Ok(element) = island.dyn_into::<HtmlElement>() else {
                continue;
            };
            let name = element.dataset().get("component").unwrap_or_default();
            let _ = hydrate.call2(&JsValue::NULL, &element, &JsValue::from_str(&name));
        }
    }

    /// Scrolls and focuses as a page load would: to the `#section` asked for, else to the top;
    /// focus to the field the page marks `autofocus`, else to its heading, so that a screen
    /// reader announces the new page.
    fn settle(document: &web_sys::Document, url: &str) {
        let target = Url::new(url)
            .ok()
            .map(|url| url.hash())
            .filter(|hash| hash.len() > 1)
            .and_then(|hash| document.get_element_by_id(&hash[1..]));
        match target {
            Some(section) => section.scroll_into_view(),
            None => window().scroll_to_with_x_and_y(0.0, 0.0),
        }
        let focus = document
            .query_selector("[autofocus]")
            .ok()
            .flatten()
            .or_else(|| {
                let heading = document.query_selector("main h1").ok().flatten()?;
                if !heading.has_attribute("tabindex") {
                    let _ = heading.set_attribute("tabindex", "-1");
                }
                Some(heading)
            })
            .and_then(|element| element.dyn_into::<HtmlElement>().ok());
        if let Some(element) = focus {
            let _ = element.focus();
        }
    }

    /// `url` resolved against the shown page's address.
    fn absolute(url: &str) -> String {
        let base = window().location().href().unwrap_or_default();
        Url::new_with_base(url, &base)
            .map(|url| url.href())
            .unwrap_or_else(|_| url.to_owned())
    }

    /// What tells two pages apart: the path and query, without the `#section`.
    fn page_key(url: &str) -> String {
        match Url::new(url) {
            Ok(url) => format!("{}{}", url.pathname(), url.search()),
            Err(_) => url.to_owned(),
        }
    }
}
