// Azure Monitor alerts on the plan's success criteria, from the telemetry the app already sends to
// Application Insights (queried on the component: classic table names customMetrics, traces, requests).
// What each query relies on in the code is listed in tests/infra/test_alerts.py and the README.

param namePrefix string
param location string
param tags object = {}

@description('Resource id of the Application Insights component the queries run on.')
param applicationInsightsId string

@description('E-mail address that receives the alerts. Empty: the action group has no receiver.')
param alertEmail string = ''

@description('5xx responses within 5 minutes that make a burst.')
@minValue(1)
param serverErrorBurstThreshold int = 10

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: '${namePrefix}-ops'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'migration'
    enabled: true
    emailReceivers: empty(alertEmail) ? [] : [
      {
        name: 'ops-email'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

var actions = {
  actionGroups: [
    actionGroup.id
  ]
}

// More than 2 % of the migrations finished in the last hour failed (counter `migrations`, outcome
// completed|failed, shared/telemetry.py).
resource migrationErrorRate 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = {
  name: '${namePrefix}-migration-error-rate'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Migration error rate over 2 % in an hour'
    severity: 1
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'customMetrics | where name == "migrations" | extend outcome = tostring(customDimensions.outcome) | summarize failed = sumif(valueSum, outcome == "failed"), total = sum(valueSum) | where total > 0 and failed * 100.0 / total > 2'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: actions
  }
}

// Any backup failure: a backup write that failed, a blob the record_backup trigger refused, or a sweep
// finding a backup missing or altered.
resource backupFailure 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = {
  name: '${namePrefix}-backup-failure'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Backup failure'
    severity: 1
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    criteria: {
      allOf: [
        {
          query: 'traces | where severityLevel >= 2 | where message startswith "backup failed" or message has "is not a backup document" or message has "is not at its owner\'s path" or message startswith "validation issue type=BACKUP_"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: false
    actions: actions
  }
}

// A validation sweep found a document in the wrong tenant or a secret stored in plain text.
resource isolationOrPlaintext 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = {
  name: '${namePrefix}-tenant-isolation-or-plaintext-secret'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Validation: tenant isolation violation or plaintext secret'
    severity: 0
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    criteria: {
      allOf: [
        {
          query: 'traces | where message startswith "validation issue type=TENANT_ISOLATION_VIOLATION" or message startswith "validation issue type=PLAINTEXT_SECRET"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: false
    actions: actions
  }
}

// A burst of 5xx responses (503 DEPENDENCY_UNAVAILABLE, 500 MIGRATION_ERROR, host errors).
resource serverErrorBurst 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = {
  name: '${namePrefix}-5xx-burst'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: '5xx burst'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    criteria: {
      allOf: [
        {
          query: 'requests | where toint(resultCode) >= 500'
          timeAggregation: 'Count'
          operator: 'GreaterThanOrEqual'
          threshold: serverErrorBurstThreshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: actions
  }
}

output actionGroupId string = actionGroup.id
