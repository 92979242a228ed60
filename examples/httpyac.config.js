// httpyac reads this file because it sits beside tasks.http. It lets
// httpyac understand the request variables of VS Code's REST Client, so the
// one file runs in both: after a request named with "# @name createTask",
// REST Client resolves {{createTask.response.body.$.task.id}} (JSONPath) and
// {{createTask.response.headers.ETag}}; httpyac evaluates the same text as
// JavaScript, and finds here the `response` member it needs. httpyac's own
// form ({{createTask.task.id}}) keeps working: the body's members stay.
module.exports = {
  configureHooks(api) {
    api.hooks.onResponse.addHook('restClientRequestVariables', (response, context) => {
      const name = context.httpRegion.metaData.name;
      if (typeof name !== 'string' || name.trim() === '') {
        return;
      }
      const body = response.parsedBody !== undefined ? response.parsedBody : response.body;
      const lower = {};
      for (const [key, value] of Object.entries(response.headers || {})) {
        lower[key.toLowerCase()] = Array.isArray(value) ? value[0] : value;
      }
      // Header names are case-insensitive, as in REST Client.
      const headers = new Proxy(lower, {
        get: (target, key) => (typeof key === 'string' ? target[key.toLowerCase()] : undefined),
      });
      const value = Object.assign({}, body !== null && typeof body === 'object' ? body : {}, {
        response: { statusCode: response.statusCode, headers, body: { $: body, '*': body } },
      });
      api.utils.setVariableInContext({ [name.trim()]: value }, context);
    });
  },
};
