"""imgstore: routes and S3 event handlers. Wiring only; the logic is in chalicelib."""

from typing import cast

from chalice import Chalice
from chalice.app import Request

from chalicelib import auth, config
from chalicelib.auth import gateway
from chalicelib.edge import cors, http, openapi, telemetry, validation
from chalicelib.usecases.api import ImageService
from chalicelib.usecases.s3_events import ImageProcessor

app = Chalice(app_name="imgstore")
app.api.binary_types.extend(http.EXTRA_BINARY_TYPES)
# Outermost first: the log line sees the final response, CORS headers go on errors too.
app.register_middleware(telemetry.log_request, "http")
app.register_middleware(cors.add_headers, "http")
app.register_middleware(http.json_errors(app.routes), "http")
app.register_middleware(telemetry.log_s3_event, "s3")


def token_authorizer(auth_request):
    return gateway.authorize_token(auth_request)


# None, token_authorizer or Cognito's, by the AUTH_MODE being deployed.
authorizer = gateway.route_authorizer(app, token_authorizer)


def current() -> Request:
    """The request being served: Chalice sets it before any view runs."""
    return cast(Request, app.current_request)


def caller(images):
    return auth.caller(current().context, images.settings)


@app.route("/health", methods=["GET"], content_types=http.ANY)
def health():
    validation.query(http.params(current()), ())
    return {"status": "ok"}


@app.route("/openapi.json", methods=["GET"], content_types=http.ANY)
def contract():
    validation.query(http.params(current()), ())
    return openapi.document(config.load())


@app.route("/images", methods=["POST"], content_types=http.UPLOAD_TYPES, authorizer=authorizer)
def upload_image():
    images = ImageService.from_environment()
    record = images.upload(caller(images), http.upload_from(current(), images.settings))
    return http.created(current(), record.to_api(), f"/images/{record.image_id}")


@app.route("/uploads", methods=["POST"], content_types=[http.JSON], authorizer=authorizer)
def create_upload():
    images = ImageService.from_environment()
    validation.query(http.params(current()), ())
    request = validation.presigned_upload(http.body(current()), images.settings)
    answer = images.presign_upload(caller(images), request)
    return http.created(current(), answer, f"/images/{answer['image_id']}")


@app.route("/images", methods=["GET"], content_types=http.ANY, authorizer=authorizer)
def list_images():
    images = ImageService.from_environment()
    return images.list(caller(images), validation.list_query(http.params(current())))


@app.route("/images/{image_id}", methods=["GET"], content_types=http.ANY, authorizer=authorizer)
def get_image(image_id):
    images = ImageService.from_environment()
    download = validation.download_flag(http.params(current()))
    return images.get(caller(images), image_id, download=download)


@app.route("/images/{image_id}/file", methods=["GET"], content_types=http.ANY, authorizer=authorizer)
def get_image_file(image_id):
    images = ImageService.from_environment()
    variant = validation.variant_name(http.params(current()), images.settings)
    return http.redirect(images.file_url(caller(images), image_id, variant))


@app.route("/images/{image_id}", methods=["PATCH"], content_types=[http.JSON], authorizer=authorizer)
def update_image(image_id):
    images = ImageService.from_environment()
    validation.query(http.params(current()), ())
    return images.update(caller(images), image_id, validation.update(http.body(current()))).to_api()


@app.route("/images/{image_id}/reprocess", methods=["POST"], content_types=http.ANY, authorizer=authorizer)
def reprocess_image(image_id):
    images = ImageService.from_environment()
    validation.query(http.params(current()), ())
    record = images.reprocess(caller(images), image_id)
    return http.accepted({"message": "the variants are being made again", "image": record.to_api()})


@app.route("/images/{image_id}", methods=["DELETE"], content_types=http.ANY, authorizer=authorizer)
def delete_image(image_id):
    images = ImageService.from_environment()
    validation.query(http.params(current()), ())
    images.delete(caller(images), image_id)
    return {"message": "image deleted", "image_id": image_id}


# -- the web app (chalicelib/edge/web/); its module is imported only when these are called --


@app.route("/", methods=["GET"], content_types=http.ANY)
def web_index():
    from chalicelib.edge import webapp

    request = current()
    webapp.page_query(http.params(request))
    page = webapp.index(request.headers.get("if-none-match"), http.url_for(request, "/"), config.load())
    return http.served(page)


@app.route("/app/{name}", methods=["GET"], content_types=http.ANY)
def web_asset(name):
    from chalicelib.edge import webapp

    request = current()
    validation.query(http.params(request), ())
    return http.served(webapp.asset(request.headers.get("if-none-match"), name))


@app.route("/client-config", methods=["GET"], content_types=http.ANY)
def client_config():
    from chalicelib.edge import webapp

    validation.query(http.params(current()), ())
    return webapp.client_config(config.load())


@app.on_s3_event(bucket=config.trigger_bucket(), prefix="uploads/", events=["s3:ObjectCreated:*"])
def on_upload(event):
    return ImageProcessor.from_environment().ingest(event.bucket, event.key)


@app.on_s3_event(bucket=config.trigger_bucket(), prefix="uploads/", events=["s3:ObjectRemoved:*"])
def on_delete(event):
    return ImageProcessor.from_environment().forget(event.bucket, event.key)


# Keep last: browser preflights for every path above, answered without auth.
def preflight(**_path_params):
    request = current()
    return cors.preflight(request, app.routes[request.context["resourcePath"]])


for _path in list(app.routes):
    app.route(_path, methods=["OPTIONS"])(preflight)

# Domain errors become their HTTP answers, for every route above.
http.map_domain_errors(app)
