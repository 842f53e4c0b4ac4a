// Runs the bundled task under azure-pipelines-task-lib's TaskMockRunner. The scenario
// (inputs and agent variables) comes from MOCK_TASK_SCENARIO, set by the test.
const path = require('node:path');
const { TaskMockRunner } = require('azure-pipelines-task-lib/mock-run');

const scenario = JSON.parse(process.env.MOCK_TASK_SCENARIO || '{}');
const runner = new TaskMockRunner(
  path.join(__dirname, '../../../azure-devops-extension/DatabricksOidcLoginV1/main.js'),
);
for (const [name, value] of Object.entries(scenario.inputs || {})) runner.setInput(name, value);
Object.assign(process.env, scenario.env || {});
// noMockTask: the bundle carries its own task-lib. A mock copy loaded next to it would mark
// task-lib as loaded, and the bundle's copy would then skip building its secret vault.
runner.run(true);
