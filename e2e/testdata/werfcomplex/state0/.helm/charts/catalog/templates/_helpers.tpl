{{- define "storefront.webName" -}}
storefront-web
{{- end }}
