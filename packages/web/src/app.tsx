import { useEffect, useRef, useState } from "preact/hooks";
import { api, getToken, onApiStatus, setToken, signOut, type UiConfig } from "./api";
import { AccountPage } from "./pages/account";
import { InvitePage } from "./pages/invite";
import { UsersPage } from "./pages/users";
import { AlertsPage } from "./pages/alerts";
import { DashboardsPage } from "./pages/dashboards";
import { DerivedPage } from "./pages/derived";
import { FieldsPage } from "./pages/fields";
import { SavedPage } from "./pages/saved";
import type { PageProps } from "./pages/page";
import { SearchPage } from "./pages/search";
import { SetupPage } from "./pages/setup";
import { SignIn, startSession } from "./pages/sign-in";
import { TailPage } from "./pages/tail";
import { UsagePage } from "./pages/usage";
import { formatHash, parseHash, type Page, type RouteState } from "./route";
import { setZoneMode, zoneMode, zoneName, type ZoneMode } from "./time";

const NAV: { page: Page; label: string }[] = [
  { page: "search", label: "Search" },
  { page: "fields", label: "Fields" },
  { page: "tail", label: "Live tail" },
  { page: "saved", label: "Saved searches" },
  { page: "dashboards", label: "Dashboards" },
  { page: "alerts", label: "Alerts" },
  { page: "derived", label: "Derived fields" },
  { page: "usage", label: "Usage" },
  { page: "setup", label: "Send logs" },
  { page: "users", label: "Users" },
];

const TITLES: Record<Page, string> = { search: "Search", fields: "Fields", tail: "Live tail", saved: "Saved searches", dashboards: "Dashboards", alerts: "Alerts", derived: "Derived fields", setup: "Send logs", usage: "Usage", users: "Users", account: "Account", invite: "Join" };

/**
 * Single sign-on's return (`#/sso?token=&account=&back=`, or `?error=&back=`: packages/alerts sso.ts), read
 * once at load and taken out of the address bar and the history at once: a session token must not stay in
 * a URL. The UI goes on at `back`, where the user was before signing in (a shared link).
 */
function takeSsoReturn(): { token: string | null; account: string | null; error: string | null } | null {
  if (!location.hash.startsWith("#/sso?")) return null;
  const p = new URLSearchParams(location.hash.slice("#/sso?".length));
  const back = p.get("back") ?? "";
  history.replaceState(null, "", `${location.pathname}${location.search}${/^#\/(?!sso)/.test(back) ? back : "#/search"}`);
  return { token: p.get("token"), account: p.get("account"), error: p.get("error") };
}

export function App() {
  // First: the address bar is the return's until it is read.
  const [ssoReturn] = useState(takeSsoReturn);
  const [signedIn, setSignedIn] = useState(() => getToken() !== null && !ssoReturn?.token);
  const [config, setConfig] = useState<UiConfig | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [route, setRoute] = useState<RouteState>(() => parseHash(location.hash));
  const [nonce, setNonce] = useState(0);
  const [down, setDown] = useState(false);
  const [zone, setZone] = useState<ZoneMode>(zoneMode);

  useEffect(
    () =>
      onApiStatus((e) => {
        if (e.kind === "unauthorized") {
          setToken(null);
          setSignedIn(false);
          setConfig(null);
          setNotice("The server did not accept your token any more. Sign in again.");
        } else setDown(e.kind === "down");
      }),
    [],
  );
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  useEffect(() => {
    if (signedIn && !config) api<UiConfig>("/ui/config").then(setConfig, () => undefined);
  }, [signedIn, config]);
  // While the server is away, ask every few seconds; when it answers, reload what the page shows.
  useEffect(() => {
    if (!down || !signedIn) return;
    const t = setInterval(() => {
      api<UiConfig>("/ui/config").then(
        () => setNonce((n) => n + 1),
        () => undefined,
      );
    }, 3000);
    return () => clearInterval(t);
  }, [down, signedIn]);
  useEffect(() => {
    document.title = `${TITLES[route.page]} · unmeltable`;
  }, [route.page]);

  const navigate = (next: Partial<RouteState>) => {
    // `saved` is for the page it was given to, never carried on to the next.
    const hash = formatHash({ ...route, saved: undefined, ...next });
    if (hash === location.hash) setNonce((n) => n + 1);
    else location.hash = hash;
  };

  const signedInNow = (cfg: UiConfig) => {
    setConfig(cfg);
    setNotice(null);
    setSignedIn(true);
  };
  useEffect(() => {
    if (!ssoReturn) return;
    if (ssoReturn.error) setNotice(ssoReturn.error);
    else if (ssoReturn.token && ssoReturn.account) {
      startSession({ token: ssoReturn.token, account: ssoReturn.account }).then(signedInNow, (err: Error) => setNotice(`Signing in failed: ${err.message}`));
    }
  }, []);
  // An invitation's link: before (or instead of) signing in; taking it up signs the new user in.
  if (route.page === "invite") return <InvitePage token={route.saved ?? ""} onSignedIn={(cfg) => (signedInNow(cfg), navigate({ page: "search", saved: undefined }))} />;

  if (!signedIn) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={signedInNow}
      />
    );
  }

  const props: PageProps = { route, nonce, navigate, config };
  return (
    <Shell route={route} config={config} down={down} navigate={navigate} zone={zone} onZone={(z) => (setZoneMode(z), setZone(z))} onSignOut={() => void signOut().then(() => (setConfig(null), setSignedIn(false)))}>
      {/* Keyed by the zone: a page shows its times again when the zone changes. */}
      <div key={zone} class="page-frame">
        {route.page === "search" && <SearchPage {...props} />}
        {route.page === "fields" && <FieldsPage {...props} />}
        {route.page === "tail" && <TailPage {...props} />}
        {route.page === "setup" && <SetupPage {...props} />}
        {route.page === "saved" && <SavedPage {...props} />}
        {route.page === "dashboards" && <DashboardsPage {...props} />}
        {route.page === "alerts" && <AlertsPage {...props} />}
        {route.page === "derived" && <DerivedPage {...props} />}
        {route.page === "usage" && <UsagePage {...props} />}
        {route.page === "users" && <UsersPage {...props} />}
        {route.page === "account" && <AccountPage {...props} />}
      </div>
    </Shell>
  );
}

function Shell(props: {
  route: RouteState;
  config: UiConfig | null;
  down: boolean;
  navigate: PageProps["navigate"];
  zone: ZoneMode;
  onZone(zone: ZoneMode): void;
  onSignOut(): void;
  children: preact.ComponentChildren;
}) {
  const main = useRef<HTMLElement>(null);
  const firstPage = useRef(true);
  // After moving to another page, focus its heading (for keyboards and screen readers).
  useEffect(() => {
    if (firstPage.current) {
      firstPage.current = false;
      return;
    }
    main.current?.querySelector<HTMLElement>(".page-title")?.focus();
  }, [props.route.page]);
  const { route } = props;
  const href = (page: Page) => formatHash({ ...route, saved: undefined, page });
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), main.current?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href("search")} aria-label="unmeltable: search">
          <span class="logo" aria-hidden="true" />
          <span>unmeltable</span>
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.filter((n) => n.page !== "users" || (props.config?.accounts && props.config.role === "admin")).map((n) => (
              <li key={n.page}>
                <a href={href(n.page)} aria-current={route.page === n.page ? "page" : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <button
            type="button"
            class="btn btn-small"
            data-testid="time-zone"
            title={props.zone === "utc" ? "Times are in UTC; show them in this browser's time zone" : "Times are in this browser's time zone; show them in UTC"}
            onClick={() => props.onZone(props.zone === "utc" ? "local" : "utc")}
          >
            Times: {zoneName()}
          </button>
          {props.config &&
            (props.config.accounts ? (
              <a class="tenant" href="#/account" title={`Account: ${props.config.tenant}`} aria-current={route.page === "account" ? "page" : undefined}>
                {props.config.user?.email ?? props.config.tenant}
                {props.config.role === "readonly" && <span class="badge"> read-only</span>}
              </a>
            ) : (
              <span class="tenant" title="Tenant">
                {props.config.tenant}
              </span>
            ))}
          <button type="button" class="btn btn-small" onClick={props.onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      {props.down && (
        <p class="banner banner-error global-banner" role="alert">
          The server cannot be reached. Showing what was loaded; trying again every few seconds.
        </p>
      )}
      {/* A read-only user is shown no control that changes anything ([data-write]); the server refuses them anyway. */}
      <main id="main" ref={main} tabIndex={-1} class={props.config?.role === "readonly" ? "role-readonly" : undefined}>
        {props.children}
      </main>
    </>
  );
}
