// Starts Swagger UI on /schema (a file of its own: the page runs no inline script, so its CSP needs none).
// The page says where the document is (data-openapi-url); nothing is loaded from anywhere but this server.
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    displayOperationId: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    tryItOutEnabled: false,
    validatorUrl: null, // Swagger UI would otherwise send the document to validator.swagger.io
    oauth2RedirectUrl: new URL(root.dataset.oauth2RedirectUrl, window.location.href).href,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
