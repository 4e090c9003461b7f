// Swagger UI for /api/v1/docs/: drf-spectacular's set-up script
// (drf_spectacular/swagger_ui.js), reading its values from the page's
// #swagger-ui data attributes instead of an inline script, which the
// Content-Security-Policy forbids.
(function () {
  "use strict";

  var root = document.getElementById("swagger-ui");
  var data = root.dataset;
  var parse = function (text, fallback) {
    if (!text) { return fallback; }
    try { return JSON.parse(text); } catch (e) { return fallback; }
  };
  var swaggerSettings = parse(data.settings, {});
  var schemaAuthNames = parse(data.schemaAuthNames, []);
  var oauth2Config = parse(data.oauth2Config, null);
  var schemaAuthFailed = false;
  var ui = null;
  var plugins = [];

  var reload = function (ori) {
    return function () {
      schemaAuthFailed = false;
      setTimeout(function () { ui.specActions.download(); });
      return ori.apply(null, arguments);
    };
  };
  if (schemaAuthNames.length > 0) {
    plugins.push(function () {
      return {statePlugins: {auth: {wrapActions: {authorizeOauth2: reload, authorize: reload, logout: reload}}}};
    });
  }

  var isSchemaUrl = function (url) {
    return ui !== null && url === new URL(ui.getConfigs().url, document.baseURI).href;
  };

  var responseInterceptor = function (response) {
    if (!response.ok && isSchemaUrl(response.url)) {
      console.warn("schema request received '" + response.status + "'. disabling credentials for schema till logout.");
      if (!schemaAuthFailed) {
        schemaAuthFailed = true;  // only retry once to prevent an endless loop
        setTimeout(function () { ui.specActions.download(); });
      }
    }
    return response;
  };

  var injectAuthCredentials = function (request) {
    var authorized;
    if (ui !== null) {
      var state = ui.getState().get("auth").get("authorized");
      if (state !== undefined && Object.keys(state.toJS()).length !== 0) { authorized = state.toJS(); }
    } else if ([undefined, "{}"].indexOf(localStorage.authorized) === -1) {
      authorized = JSON.parse(localStorage.authorized);
    }
    if (authorized === undefined) { return; }
    for (var i = 0; i < schemaAuthNames.length; i++) {
      var authDef = authorized[schemaAuthNames[i]];
      if (authDef === undefined || authDef.schema === undefined) { continue; }
      var schema = authDef.schema;
      if (schema.type === "http" && schema.scheme === "bearer") {
        request.headers.Authorization = "Bearer " + authDef.value;
        return;
      } else if (schema.type === "http" && schema.scheme === "basic") {
        request.headers.Authorization = "Basic " + btoa(authDef.value.username + ":" + authDef.value.password);
        return;
      } else if (schema.type === "apiKey" && schema.in === "header") {
        request.headers[schema.name] = authDef.value;
        return;
      } else if (schema.type === "oauth2" && authDef.token.token_type === "Bearer") {
        request.headers.Authorization = "Bearer " + authDef.token.access_token;
        return;
      }
    }
  };

  var requestInterceptor = function (request) {
    if (request.loadSpec && schemaAuthNames.length > 0 && !schemaAuthFailed) {
      try { injectAuthCredentials(request); } catch (e) { console.error("schema auth injection failed with error: ", e); }
    }
    // Selectively omit adding headers to mitigate CORS issues.
    if (["GET", undefined].indexOf(request.method) === -1 && request.credentials === "same-origin") {
      request.headers[data.csrfHeaderName] = data.csrfToken;
    }
    return request;
  };

  ui = SwaggerUIBundle(Object.assign({
    url: data.schemaUrl,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    plugins: plugins,
    layout: "BaseLayout",
    requestInterceptor: requestInterceptor,
    responseInterceptor: responseInterceptor
  }, swaggerSettings));
  if (oauth2Config) { ui.initOAuth(oauth2Config); }
})();
