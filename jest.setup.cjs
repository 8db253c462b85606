// The AWS SDK warns once per process that future versions need Node 22; tests run on 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
