"""imgstore: routes and S3 event handlers. Wiring only; the logic is in chalicelib."""

from chalice import Chalice

from chalicelib import bootstrap, deployment
from chalicelib.auth import gateway
from chalicelib.delivery import function_url, options
from chalicelib.edge import cors, delivery, http, openapi, telemetry, validation
from chalicelib.edge.http import Call

app = Chalice(app_name="imgstore")
app.api.binary_types.extend(http.EXTRA_BINARY_TYPES)
# Outermost first: the log line sees the final response, CORS headers go on errors too.
app.register_middleware(telemetry.log_request, "http")
app.register_middleware(http.head_without_body, "http")
app.register_middleware(cors.add_headers, "http")
app.register_middleware(http.json_errors(app.routes), "http")
app.register_middleware(telemetry.log_s3_event, "s3")

# Every route is declared through this: domain errors mapped, query checked, preflight added.
route = http.Routes(app, cors.preflight)


def token_authorizer(auth_request):
    return gateway.authorize_token(auth_request)


# None, token_authorizer or Cognito's, by the AUTH_MODE being deployed.
authorizer = gateway.route_authorizer(app, token_authorizer)


@route("/health", ["GET"])
def health(call: Call):
    return {"status": "ok"}


@route("/openapi.json", ["GET"])
def contract(call: Call):
    return openapi.document(call.settings)


@route("/images", ["POST"], content_types=http.UPLOAD_TYPES, authorizer=authorizer, query=None)
def upload_image(call: Call):
    record = call.api.upload(call.caller, http.upload_from(call.request, call.settings))
    return http.created(call.request, record.to_api(), f"/images/{record.image_id}")


@route("/uploads", ["POST"], content_types=[http.JSON], authorizer=authorizer)
def create_upload(call: Call):
    answer = call.api.presign_upload(call.caller, validation.presigned_upload(call.body, call.settings))
    return http.created(call.request, answer, f"/images/{answer['image_id']}")


@route("/images", ["GET"], authorizer=authorizer, query=None)
def list_images(call: Call):
    return call.api.list(call.caller, validation.list_query(call.params), delivery_base=call.url_for(""))


@route("/images/{image_id}", ["GET"], authorizer=authorizer, query=None)
def get_image(call: Call, image_id):
    download = validation.download_flag(call.params)
    return call.api.get(call.caller, image_id, download=download, delivery_base=call.url_for(""))


@route("/images/{image_id}/file", ["GET", "HEAD"], authorizer=authorizer, query=None)
def get_image_file(call: Call, image_id):
    variant = validation.variant_name(call.params, call.settings)
    return delivery.redirect(call.api.file_url(call.caller, image_id, variant), "no-store")


@route("/images/{image_id}/url", ["GET"], authorizer=authorizer, query=options.OPTION_NAMES)
def get_rendition_url(call: Call, image_id):
    asked = options.parse(call.params, call.settings.max_rendition_dimension)
    return {"url": call.api.rendition_url(call.caller, image_id, asked, delivery_base=call.url_for(""))}


# -- renditions: signed URLs, no authorizer (the signature is the capability) ---------------


@route("/r/{image_id}/{version}/{rendition}/{signature}", ["GET", "HEAD"], query=None)
def get_rendition(call: Call, image_id, version, rendition, signature):
    return delivery.serve(call, f"/r/{image_id}/{version}/{rendition}/{signature}", renderer)


@app.lambda_function(name="renderer")
def renderer(event, context):
    """The renderer: CloudFront's origin on a miss (its Function URL), and the API's in-process."""
    return function_url.handle(event, bootstrap.renditions(renderer=True))


@route("/images/{image_id}", ["PATCH"], content_types=[http.JSON], authorizer=authorizer)
def update_image(call: Call, image_id):
    return call.api.update(call.caller, image_id, validation.update(call.body)).to_api()


@route("/images/{image_id}/reprocess", ["POST"], authorizer=authorizer)
def reprocess_image(call: Call, image_id):
    record = call.api.reprocess(call.caller, image_id)
    return http.accepted({"message": "the variants are being made again", "image": record.to_api()})


@route("/images/{image_id}", ["DELETE"], authorizer=authorizer)
def delete_image(call: Call, image_id):
    call.api.delete(call.caller, image_id)
    return {"message": "image deleted", "image_id": image_id}


# -- the web app (chalicelib/edge/web/); its module is imported only when these are called --


@route("/", ["GET"], query=None)
def web_index(call: Call):
    from chalicelib.edge import webapp

    webapp.page_query(call.params)
    page = webapp.index(call.request.headers.get("if-none-match"), call.url_for("/"), call.settings)
    return http.served(page)


@route("/app/{name}", ["GET"])
def web_asset(call: Call, name):
    from chalicelib.edge import webapp

    return http.served(webapp.asset(call.request.headers.get("if-none-match"), name))


@route("/client-config", ["GET"])
def client_config(call: Call):
    from chalicelib.edge import webapp

    return webapp.client_config(call.settings)


@app.on_s3_event(bucket=deployment.trigger_bucket(), prefix="uploads/", events=["s3:ObjectCreated:*"])
def on_upload(event):
    return bootstrap.s3_events().ingest(event.bucket, event.key)


@app.on_s3_event(bucket=deployment.trigger_bucket(), prefix="uploads/", events=["s3:ObjectRemoved:*"])
def on_delete(event):
    return bootstrap.s3_events().forget(event.bucket, event.key)
